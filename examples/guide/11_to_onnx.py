#!/usr/bin/python3
"""docs/guide.md, section 14 (To ONNX), the other side: the model 11_to_onnx.cpp wrote, checked
by onnx.checker and run by OpenCV's DNN module, whose probabilities must match layerwise's.
Run after 11_to_onnx.cpp (the test guide.to_onnx runs both)."""
import sys

import cv2
import numpy as np
import onnx

model = onnx.load("to_onnx.onnx")
onnx.checker.check_model(model, full_check=True)  # raises on anything the standard refuses
print("onnx.checker: the model is valid;", [n.op_type for n in model.graph.node])

net = cv2.dnn.readNetFromONNX("to_onnx.onnx")
net.setInput(np.load("to_onnx_x.npy"))
theirs = net.forward()
ours = np.load("to_onnx_probabilities.npy")
diff = float(np.max(np.abs(theirs - ours)))
print(f"OpenCV's probabilities differ from layerwise's by at most {diff:.2g}")
sys.exit(0 if diff <= 1e-5 else 1)
