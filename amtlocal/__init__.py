"""amtlocal: SageMaker Automatic Model Tuning on your machine, and in the cloud with one flag."""
__version__ = "0.1.0"
