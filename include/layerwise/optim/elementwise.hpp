// layerwise/optim/elementwise.hpp — an optimizer's update, one vector register at a time.
//
// An update such as RMSprop's  a = rho a + (1 - rho) g^2,  p -= lr g / sqrt(a + eps)  is a
// loop over every parameter, and its square root is what keeps a compiler from vectorising
// it: std::sqrt may set errno, so GCC and Clang call the library for it one element at a
// time unless the code that includes layerwise is compiled with -fno-math-errno. layerwise
// forces no flags on its users, so the update is written once, generically, and run on the
// widest vector register the target has, with a scalar tail:
//
//   for_each_pack<T>(n, [=](std::size_t k, auto lanes) {
//       using L = decltype(lanes);                 // Lanes<Pack<T>> or Lanes<T>
//       auto a = L::load(as + k);  ...  L::store(as + k, a);
//   });
//
// Pack, Lanes and lane_sqrt are in pack.hpp. decayed_gradient is the gradient an update uses
// with PyTorch's coupled (L2) weight decay, g + wd p; the optimizers choose it outside their
// loops, so that with weight_decay 0 they run the loop they ran before it existed.
#pragma once

#include "../pack.hpp"

#include <cstddef>
#include <type_traits>

namespace layerwise {

/// Calls f(k, Lanes<Pack<T>>{}) for k = 0, W, 2W, ... while a whole pack of W lanes fits in n,
/// then f(k, Lanes<T>{}) for each remaining k.
/// f should capture by value ([=]): for_each_pack works on its own copy of f, a local that no
/// store through a parameter pointer can alias, so the captured constants stay in registers
/// instead of being reloaded after every store.
template <class T, class F>
void for_each_pack(std::size_t n, F&& f_in) {
    auto f = f_in;
    std::size_t k = 0;
    if constexpr (!std::is_same_v<Pack<T>, T>) {
        constexpr std::size_t width = sizeof(Pack<T>) / sizeof(T);
        for (; k + width <= n; k += width) f(k, Lanes<Pack<T>>{});
    }
    for (; k < n; ++k) f(k, Lanes<T>{});
}

/// The gradient an update uses at g, as lanes L (Lanes<Pack<T>> or Lanes<T>): g + wd p, PyTorch's
/// coupled weight decay (the gradient of the loss plus wd/2 |p|^2), when Decay; g alone, which
/// reads nothing else, when not.
template <class L, bool Decay, class T>
auto decayed_gradient(const T* g, [[maybe_unused]] const T* p, [[maybe_unused]] T wd) {
    if constexpr (Decay) return L::load(g) + wd * L::load(p);  // g + wd p
    else return L::load(g);
}

}  // namespace layerwise
