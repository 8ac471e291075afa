"""python -m tune_bridge.launch <torchrun arguments>: torchrun that dies with tune.

torchrun's workers die with torchrun (they call die_with_parent too); this makes torchrun itself
die with the tune process that started it, so a killed run leaves no process behind.
"""

from __future__ import annotations

from torch.distributed.run import main

from .lifeline import die_with_parent

if __name__ == "__main__":
    die_with_parent()
    main()
