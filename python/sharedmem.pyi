"""Type stubs of the extension module sharedmem (named shared memory between processes)."""

from typing_extensions import Buffer as _Buffer  # collections.abc.Buffer from 3.12
from types import TracebackType
from typing import Iterator, Literal, TypedDict, TypeVar, overload

_Key = str | bytes
_Data = _Buffer | bytes | bytearray | memoryview | str
_Seconds = int | float
_T = TypeVar("_T")
_Self = TypeVar("_Self")

__version__: str
NAME_MAX: int
KEY_MAX: int
MAP_VALUE_MAX: int
MAP_ENTRIES_MAX: int
VALUE_MAX: int

class Error(Exception):
    """A sharedmem library error."""

    code: int  # the negative SMEM_E* code
    errname: str  # "SMEM_ENOENT"
    region: str | None

class NotFoundError(Error, FileNotFoundError): ...  # SMEM_ENOENT (no such region)
class ExistsError(Error, FileExistsError): ...  # SMEM_EEXIST (exclusive=True)
class PermissionDenied(Error, PermissionError): ...  # SMEM_EACCES, SMEM_EPERM, SMEM_EBADF
class Timeout(Error, TimeoutError): ...  # SMEM_ETIMEDOUT
class InvalidArgument(Error, ValueError): ...  # SMEM_EINVAL, ENAMETOOLONG, E2BIG, ERANGE
class Mismatch(Error): ...  # SMEM_EMISMATCH
class Full(Error): ...  # SMEM_EFULL
class Damaged(Error): ...  # SMEM_EBADREGION, SMEM_EVERSION

class MapStats(TypedDict):
    hits: int
    misses: int
    sets: int
    deletes: int
    evictions: int
    expirations: int
    entries: int
    max_entries: int
    bytes: int
    stale: int
    evicting: bool

class RegionInfo(TypedDict):
    name: str
    kind: Literal["region", "value", "map", "unknown"]
    state: Literal["ready", "initialising", "stale", "bad"]
    size: int
    capacity: int
    entries: int
    max_value: int
    persistent: bool
    in_use: bool
    users: int  # -1 if the system does not say
    uid: int
    mode: int
    created: int  # seconds since 1970, 0 if unknown
    memory: int
    error: int  # 0, or the SMEM_E* code saying why state is "bad"

class Map:
    """A shared map: keys of 1..64 bytes (str as UTF-8, or bytes) to bytes values."""

    def __init__(
        self,
        name: str,
        max_entries: int = 0,
        max_value: int = 0,
        *,
        create: bool = True,
        exclusive: bool = False,
        persist: bool = False,
        readonly: bool = False,
        evict: bool = False,
        grow: bool = False,
        mode: int = 0o600,
        timeout: _Seconds | None = 5.0,
    ) -> None: ...
    def __getitem__(self, key: _Key) -> bytes: ...
    def __setitem__(self, key: _Key, value: _Data) -> None: ...
    def __delitem__(self, key: _Key) -> None: ...
    def __contains__(self, key: object) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str | bytes]: ...
    @overload
    def get(self, key: _Key) -> bytes | None: ...
    @overload
    def get(self, key: _Key, default: _T) -> bytes | _T: ...
    def keys(self) -> list[str | bytes]: ...
    def values(self) -> list[bytes]: ...
    def items(self) -> list[tuple[str | bytes, bytes]]: ...
    def add(self, key: _Key, value: _Data) -> bool: ...
    def cas(self, key: _Key, version: int, value: _Data) -> bool: ...
    def incr(self, key: _Key, delta: int = 1, *, init: int = 0, ttl: _Seconds | None = None) -> int: ...
    def version(self, key: _Key | None = None) -> int: ...
    def wait(self, key: _Key | None = None, seen: int | None = None, timeout: _Seconds | None = None) -> int: ...
    def set(
        self,
        key: _Key,
        value: _Data,
        *,
        ttl: _Seconds | None = None,
        nx: bool = False,
        xx: bool = False,
        keep_ttl: bool = False,
    ) -> bool: ...
    def expire(self, key: _Key, ttl: _Seconds | None) -> None: ...
    def ttl(self, key: _Key) -> float | None: ...
    @overload
    def get_stale(self, key: _Key) -> tuple[bytes, bool] | None: ...
    @overload
    def get_stale(self, key: _Key, default: _T) -> tuple[bytes, bool] | _T: ...
    def flush(self) -> None: ...
    def stats(self) -> MapStats: ...
    def resize(self, max_entries: int, max_value: int | None = None) -> None: ...
    def close(self) -> None: ...
    def __enter__(self: _Self) -> _Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]: ...
    @property
    def name(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def max_entries(self) -> int: ...  # now: resize() and grow=True raise it
    @property
    def max_value(self) -> int: ...  # now: resize() and grow=True raise it
    @property
    def created(self) -> bool: ...
    @property
    def evicting(self) -> bool: ...

class Value:
    """A shared value of up to `capacity` bytes, replaced atomically."""

    def __init__(
        self,
        name: str,
        capacity: int = 0,
        *,
        create: bool = True,
        exclusive: bool = False,
        persist: bool = False,
        readonly: bool = False,
        mode: int = 0o600,
        timeout: _Seconds | None = 5.0,
    ) -> None: ...
    def get(self) -> bytes: ...
    def set(self, data: _Data) -> None: ...
    def wait(self, seen: int | None = None, timeout: _Seconds | None = None) -> int: ...
    def close(self) -> None: ...
    def __enter__(self: _Self) -> _Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]: ...
    @property
    def name(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def version(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    @property
    def created(self) -> bool: ...

class Region(_Buffer):
    """A named block of shared memory, exported through the buffer protocol."""

    def __init__(
        self,
        name: str,
        size: int = 0,
        *,
        create: bool = True,
        exclusive: bool = False,
        persist: bool = False,
        readonly: bool = False,
        mode: int = 0o600,
        timeout: _Seconds | None = 5.0,
    ) -> None: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __release_buffer__(self, buffer: memoryview, /) -> None: ...
    def __len__(self) -> int: ...
    def close(self) -> None: ...
    def __enter__(self: _Self) -> _Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]: ...
    @property
    def name(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def size(self) -> int: ...
    @property
    def created(self) -> bool: ...
    @property
    def readonly(self) -> bool: ...

def list_regions() -> list[RegionInfo]: ...
def stat(name: str) -> RegionInfo: ...
def remove(name: str) -> None: ...
@overload
def gc(name: str) -> bool: ...
@overload
def gc(name: None = None) -> int: ...
def version() -> str: ...
