"""`python -m dynamodb_fanout`: the same as the `dynamodb-fanout` console script."""

import sys

from dynamodb_fanout.main import main

sys.exit(main())
