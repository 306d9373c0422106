"""Named registries for the parts plugins can add: formats, detectors and scrub entities.

Built-in parts register themselves with a decorator when their module is imported; third-party
parts arrive through entry-point groups (``ben.formats``, ``ben.detectors``, ``ben.entities``)
and are loaded only when a name is not found among the built-ins or a full listing is asked for,
so start-up never pays for plugins it does not use. A plugin that fails to load is recorded in
``broken`` with its error instead of taking the other parts down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, group: str, kind: str):
        self.group = group
        self.kind = kind
        self._items: dict[str, T] = {}
        self._plugins_loaded = False
        self.broken: dict[str, str] = {}

    def add(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def deco(item: T) -> T:
            return self.add(name, item)

        return deco

    def load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.group):
            if ep.name in self._items:
                continue
            try:
                self._items[ep.name] = ep.load()
            except Exception as exc:  # a broken plugin must not break ben
                self.broken[ep.name] = f"{type(exc).__name__}: {exc}"

    def get(self, name: str) -> T:
        if name not in self._items:
            self.load_plugins()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            hint = f" (plugin failed to load: {self.broken[name]})" if name in self.broken else ""
            raise KeyError(f"unknown {self.kind} {name!r}{hint}; known: {known}") from None

    def names(self, *, with_plugins: bool = True) -> list[str]:
        if with_plugins:
            self.load_plugins()
        return list(self._items)

    def items(self, *, with_plugins: bool = True) -> Iterator[tuple[str, T]]:
        if with_plugins:
            self.load_plugins()
        return iter(list(self._items.items()))

    def __contains__(self, name: object) -> bool:
        return name in self._items


formats: Registry = Registry("ben.formats", "format")
detectors: Registry = Registry("ben.detectors", "detector")
entities: Registry = Registry("ben.entities", "entity")
