// layerwise/train/training_state.hpp — where fit stands after an epoch, so that a run that is
// stopped (killed, preempted, requeued) can go on with the same bits as one that never stopped.
//
// Resuming needs, besides the network's parameters (BatchNorm's moving statistics among them)
// and the optimizer's accumulators and step count, what fit itself carries from one epoch to
// the next: the shuffle's random generator and the order it has made of the samples (each
// epoch shuffles the previous epoch's order), the count of steps, and the history so far.
// fit hands this state to FitOptions::on_epoch_state after every epoch and starts from
// FitOptions::resume_from; io/training_state.hpp saves and loads it with the network and the
// optimizer in one .npz file. The learning rate needs nothing here: fit derives it from the
// global step (FitOptions::schedule) and from the history, over which it replays the callbacks
// (callbacks.hpp), so a resumed run must be given the same schedule and callbacks.
#pragma once

#include "history.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace layerwise {

/// What fit needs, beyond the network and the optimizer, to go on after `epochs_done` epochs.
struct TrainingState {
    std::size_t epochs_done = 0;        ///< epochs completed
    std::size_t global_step = 0;        ///< optimizer steps taken
    std::uint64_t seed = 0;             ///< FitOptions::seed of the run (checked on resume)
    std::size_t batch_size = 0;         ///< FitOptions::batch_size of the run (checked on resume)
    std::string shuffle_rng;            ///< the shuffle's std::mt19937_64, as its operator<< writes it
    std::vector<std::uint64_t> order;   ///< the samples in the last epoch's order: (n)
    std::vector<EpochRecord> epochs;    ///< the history of the completed epochs
    /// Text kept with the state by what runs beside fit (a study's recorder keeps the rows it
    /// recorded), so that it resumes from the same epoch: key -> contents. fit leaves it empty.
    std::map<std::string, std::string> attachments;

    /// The generator the text in shuffle_rng describes; std::invalid_argument if it does not.
    std::mt19937_64 generator() const {
        std::istringstream in(shuffle_rng);
        std::mt19937_64 rng;
        in >> rng;
        if (!in) throw std::invalid_argument("layerwise: training state: the shuffle's generator state is not valid");
        return rng;
    }
    /// rng as text for shuffle_rng: what its operator<< writes.
    static std::string text_of(const std::mt19937_64& rng) {
        std::ostringstream out;
        out << rng;
        return out.str();
    }
};

}  // namespace layerwise
