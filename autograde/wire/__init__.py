"""Plain-data RPC between the trusted judge and the untrusted sandbox, in three layers.

- :mod:`.framing`: messages on a pipe (length-prefixed JSON header and blobs, size-capped);
- :mod:`.codec`: values to plain data and back; never a pickle, never a walk to a global
  (:mod:`.specs` the size bound on a module's spec, checked before anything is built);
- :mod:`.peer`: requests and calls, served while waiting for a reply; :mod:`.proxies` the
  other side's objects and exceptions; :mod:`.writeback` arguments updated in place (on the
  judge's side only those a test names in ``T.in_place``).

:mod:`.seal` is the format of the sealed call watch's signed report, shared by both sides.
"""

from .codec import SAME, Codec, dump_array, load_array
from .framing import MAX_MESSAGE, PeerGone, ProtocolError, Timeout, recv_message, send_message
from .peer import Peer
from .proxies import CallableHandle, Handle, Remote, RemoteError, StudentError
from .writeback import write_back

__all__ = [
    "SAME",
    "Codec",
    "dump_array",
    "load_array",
    "MAX_MESSAGE",
    "PeerGone",
    "ProtocolError",
    "Timeout",
    "recv_message",
    "send_message",
    "CallableHandle",
    "Handle",
    "Peer",
    "Remote",
    "RemoteError",
    "StudentError",
    "write_back",
]
