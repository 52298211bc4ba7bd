"""Questions whose greedy answers on the demo checkpoint have a known length.

The demo has random weights, so how long it answers depends on the question alone (greedy)
and changes whenever the demo checkpoint changes. Tests that need an answer still streaming
seconds later (to stop it, kill it, or watch it being saved) ask LONG_QUESTION; a test in
tests/inference/test_demo.py checks that it still runs long, so a new demo fails there,
with that reason, instead of making those tests flaky.
"""

# Greedy on the demo: 1,402 tokens, about 5 s on 2 CPU cores (others stop after 30-570).
LONG_QUESTION = "Write ten chapters."
LONG_ANSWER_MIN_TOKENS = 1200
