"""timelocal: strictly time-local online learning in recurrent networks.

The Python API in brief (see README.md):

    from timelocal import Network, NetworkSpec
    net = Network(NetworkSpec("anp", n_inputs=1, n_outputs=1, decorrelate=True))
    result = net.learn(inputs, targets)
"""

from timelocal.runtime.errors import TimelocalError
from timelocal.runtime.network import Network, StepResult
from timelocal.runtime.spec import NetworkSpec

__version__ = "0.1.0"
__all__ = ["Network", "NetworkSpec", "StepResult", "TimelocalError", "__version__"]
