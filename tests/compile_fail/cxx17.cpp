// Compiled as C++17: layerwise stops at its first header with one message that asks for C++20.
#include <layerwise/layerwise.hpp>
int main() {}
