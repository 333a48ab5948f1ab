// A user type with the other members of a layer, but no forward.
#include <layerwise/core.hpp>
using namespace layerwise;
struct Half {
    using scalar_type = float;
    template <class U>
    using rebind = Half;
    static constexpr std::size_t in_features = any_width, out_features = any_width, parameter_count = 0;
    const Matrix<float>& backward(const Matrix<float>& dy) { return dy; }
    template <class F>
    void visit_parameters(F&&) {}
};
int main() {
    Sequential<Dense<4, 4>, Half> net;
    (void)net;
}
