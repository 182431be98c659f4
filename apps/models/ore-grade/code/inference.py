"""SageMaker inference handlers for the ore-grade model.

The multi-model endpoint extracts ore-grade-<sha>.tar.gz and calls model_fn
with that folder, then input_fn -> predict_fn -> output_fn for each request.
Request:  {"features": ["SiO2", "Al2O3", "P", "S"], "instances": [[4.0, 2.0, 0.1, 0.0], ...]} (grade-predict)
Response: {"predictions": [61.23, ...]} (Fe %)
"""
import json
import os

JSON = "application/json"


def model_fn(model_dir):
    with open(os.path.join(model_dir, "coefficients.json"), encoding="utf-8") as f:
        model = json.load(f)
    if len(model["features"]) != len(model["coefficients"]):
        raise ValueError("coefficients.json: one coefficient per feature is required")
    return model


def input_fn(body, content_type=JSON):
    if content_type != JSON:
        raise ValueError(f"unsupported content type {content_type}; send {JSON}")
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    return json.loads(body)


def predict_fn(data, model):
    features = data.get("features", model["features"])
    if list(features) != list(model["features"]):
        raise ValueError(f"features {features} do not match the model's {model['features']}")
    low, high = model.get("clip", [None, None])
    predictions = []
    for row in data["instances"]:
        if len(row) != len(model["coefficients"]):
            raise ValueError(f"instance {row} has {len(row)} values; the model takes {len(model['coefficients'])}")
        value = model["intercept"] + sum(c * float(x) for c, x in zip(model["coefficients"], row))
        if low is not None:
            value = max(low, value)
        if high is not None:
            value = min(high, value)
        predictions.append(value)
    return predictions


def output_fn(predictions, accept=JSON):
    return json.dumps({"predictions": predictions}), JSON
