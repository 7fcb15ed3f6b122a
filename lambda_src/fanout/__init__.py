"""Fan DynamoDB Stream records out to Amazon EventBridge, losing none.

The package follows the data: ``records`` (decode and convert), ``batching``
(pack PutEvents requests), ``publisher`` (send, retry what failed),
``dead_letter`` (park what still failed, with the reason) and ``response``
(tell Lambda what to re-deliver). ``handler`` wires them together.
"""
