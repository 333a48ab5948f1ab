// A user's layer whose visit_parameters does not say how its parameter is initialised.
#include <layerwise/core.hpp>
using namespace layerwise;
struct Silent : Dense<4, 4> {
    template <class U>
    using rebind = Silent;
    template <class F>
    void visit_parameters(F&& f) {
        f("weight", W, dW, true);
    }
};
int main() {
    Sequential<Silent> net;  // constructing it initialises it (init.hpp): the walk meets Silent
}
