"""``python -m amtlocal.algorithms.xgboost``: one training job of SageMaker's XGBoost algorithm in a job folder."""
import sys

from amtlocal.algorithms.xgboost._train import main

if __name__ == "__main__":
    sys.exit(main())
