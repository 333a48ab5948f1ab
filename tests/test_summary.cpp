#include "testing.hpp"

#include <layerwise/io/keras_names.hpp>
#include <layerwise/layerwise.hpp>
#include <layerwise/models/seed_mlp.hpp>

#include <memory>
#include <sstream>

using namespace layerwise;

TEST_CASE("summary of the seed's 25-layer BatchNorm net prints Keras' numbers") {
    auto net = std::make_unique<seed::BnMlp<25>>();
    std::ostringstream out;
    summary<io::KerasNaming>(*net, out);
    const std::string text = out.str();
    INFO(text);
    std::ostringstream plain;  // the default naming: each layer's own name in the type column
    summary(*net, plain);
    CHECK(plain.str().find(" dense_24 (dense)") != std::string::npos);
    CHECK(text.find("Total params: 493,834\n") != std::string::npos);
    CHECK(text.find("Trainable params: 487,690\n") != std::string::npos);
    CHECK(text.find("Non-trainable params: 6,144\n") != std::string::npos);
    CHECK(text.find(" dense (Dense)") != std::string::npos);
    CHECK(text.find(" batch_normalization_23 (BatchNormalization)") != std::string::npos);
    CHECK(text.find(" dense_24 (Dense)") != std::string::npos);
    CHECK(text.find("(None, 10)") != std::string::npos);
    CHECK(text.find("100480\n") != std::string::npos);
}

TEST_CASE("summary rows of a skip network include Keras' Add layers") {
    auto net = std::make_unique<seed::SkipMlp<25>>();
    std::ostringstream out;
    summary<io::KerasNaming>(*net, out);
    CHECK(out.str().find(" add_11 (Add)") != std::string::npos);
    CHECK(out.str().find("Total params: 510,858\n") != std::string::npos);
}

TEST_CASE("Keras' classes for LayerNormalization, Dropout and AlphaDropout; ReZero keeps its own name") {
    Sequential<Dense<8, 8>, LayerNorm<8>, ReLU, Dropout<>, ReZero<Dense<8, 8>, SELU>, AlphaDropout<>, Dense<8, 2>> net;
    std::ostringstream out;
    summary<io::KerasNaming>(net, out);
    const std::string text = out.str();
    INFO(text);
    CHECK(text.find(" layer_normalization (LayerNormalization)") != std::string::npos);
    CHECK(text.find(" dropout (Dropout)") != std::string::npos);
    CHECK(text.find(" alpha_dropout (AlphaDropout)") != std::string::npos);
    CHECK(text.find(" (rezero)") != std::string::npos);
}
