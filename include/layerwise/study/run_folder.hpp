// layerwise/study/run_folder.hpp — one run's results folder: complete or absent.
//
// A run is built in OUT/.incomplete/<name>.<host>.<pid> and renamed to OUT/<name> when every
// file is written, so a folder OUT/<name> is always a finished run, a rerun skips it, and a
// killed run leaves only its temporary, which the next attempt at that run deletes. Several
// shards may share OUT on a shared file system: a run belongs to one shard, and the
// temporary's name says which host and process built it. not_done says which runs are left.
// A run that saves its training state after every epoch (io/training_state.hpp) is not
// redone: begin("state.npz") takes over the folder of the attempt that was killed, and the
// run goes on from its last completed epoch.
#pragma once

#include "../config.hpp"  // first: a build older than C++20 stops there, with one message

#include <unistd.h>  // gethostname, getpid

#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace layerwise::study {

class RunFolder {
public:
    RunFolder(std::filesystem::path out, std::string name) : out_(std::move(out)), name_(std::move(name)) {}

    /// Where the finished run lives.
    std::filesystem::path final_path() const { return out_ / name_; }

    /// Whether the run is finished: its folder exists with `marker` (the last file a run
    /// writes) inside.
    bool done(const char* marker = "run.json") const { return std::filesystem::exists(final_path() / marker); }

    /// Deletes what earlier attempts at this run left in OUT/.incomplete, creates a fresh
    /// temporary folder for this process and returns it. With `resumable` (a file name), the
    /// latest earlier attempt whose folder holds that file is kept instead: renamed to this
    /// process's temporary and returned, and resumed() is true.
    std::filesystem::path begin(const std::string& resumable = "") {
        namespace fs = std::filesystem;
        const fs::path incomplete = out_ / ".incomplete";
        fs::create_directories(incomplete);
        fs::path keep;
        fs::file_time_type newest{};
        for (const auto& e : fs::directory_iterator(incomplete)) {
            if (!e.path().filename().string().starts_with(name_ + ".")) continue;
            std::error_code ec;
            const auto saved = resumable.empty() ? fs::file_time_type{} : fs::last_write_time(e.path() / resumable, ec);
            if (!resumable.empty() && !ec && (keep.empty() || saved > newest)) {
                if (!keep.empty()) fs::remove_all(keep);
                keep = e.path();
                newest = saved;
            } else {
                fs::remove_all(e.path());
            }
        }
        char host[256] = {};
        if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
        tmp_ = incomplete / (name_ + "." + (host[0] ? host : "host") + "." + std::to_string(getpid()));
        resumed_ = !keep.empty();
        if (resumed_ && keep != tmp_) fs::rename(keep, tmp_);
        fs::create_directories(tmp_);
        return tmp_;
    }

    /// Whether begin() took over an earlier attempt's folder.
    bool resumed() const { return resumed_; }

    /// Moves the temporary folder into place as OUT/<name>, replacing an unfinished one.
    void commit() {
        namespace fs = std::filesystem;
        if (tmp_.empty()) throw std::logic_error("study::RunFolder: commit without begin");
        fs::remove_all(final_path());
        fs::rename(tmp_, final_path());
        tmp_.clear();
    }

private:
    std::filesystem::path out_;
    std::string name_;
    std::filesystem::path tmp_;
    bool resumed_ = false;
};

/// Of the runs `which` (indices into names), those not done in out, in the same order.
inline std::vector<std::size_t> not_done(const std::filesystem::path& out, std::span<const std::string> names,
                                         std::span<const std::size_t> which) {
    std::vector<std::size_t> todo;
    for (std::size_t k : which)
        if (!RunFolder(out, names[k]).done()) todo.push_back(k);
    return todo;
}

}  // namespace layerwise::study
