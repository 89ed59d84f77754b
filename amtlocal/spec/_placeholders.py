"""The placeholders a local-only spec carries for cloud fields the API requires but the local backend never uses.

One home for them: the API face writes them (a role or output path left out locally), the local backend reports ARNs
in the placeholder account, and the sagemaker backend recognises and replaces them before sending a request.
"""
LOCAL_ACCOUNT = "000000000000"
LOCAL_ROLE = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/amtlocal-local"
PLACEHOLDER_BUCKET = "amtlocal-local"
LOCAL_OUTPUT = f"s3://{PLACEHOLDER_BUCKET}/output"
