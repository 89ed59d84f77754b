"""A user's scikit-learn training script, as SageMaker script mode runs it (SDK v2 SKLearn and SDK v3 ModelTrainer).

Reads ``train.csv`` (label first) from the ``train`` channel, fits a small random forest on the first 70% of rows,
prints the accuracy on the rest as ``validation-accuracy: <value>`` (the tuners' metric regex) and saves the model.
"""

import argparse
import os

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier

parser = argparse.ArgumentParser()
parser.add_argument("--n-estimators", type=int, default=5)
parser.add_argument("--max-depth", type=int, default=4)
args, _ = parser.parse_known_args()

data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",")
cut = int(len(data) * 0.7)
model = RandomForestClassifier(
    n_estimators=args.n_estimators,
    max_depth=args.max_depth,
    random_state=0,
    n_jobs=1,
)
model.fit(data[:cut, 1:], data[:cut, 0])
accuracy = model.score(data[cut:, 1:], data[cut:, 0])
print(f"validation-accuracy: {accuracy:.6f}")
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
