"""The simulator's prefix cache: SGLang's radix cache, in pages of token ids.

It follows SGLang 0.5.3's `RadixCache` (mem_cache/radix_cache.py) where it shapes what a
client sees:

- Keys are token ids, matched a page at a time: `PAGE_SIZE` = 128 tokens, the page size
  SGLang forces for its Ascend attention backend (server_args.py: "Ascend attention backend
  only supports a page_size of 128"). A match is the longest page-aligned prefix, and never
  the whole prompt: at least one token is left to compute (`Req.adjust_max_prefix_ids`:
  input length - 1).
- A request locks the pages it matched while it runs; a finished prefill inserts the
  prompt's full pages, a finished request its prompt and output (less the last token), as
  `cache_unfinished_req` and `cache_finished_req` do. Partial pages are not cached.
- Unlocked pages stay cached while the KV pool has room; when an admission needs room,
  leaves are evicted least recently used first (SGLang's default `lru` policy), a parent
  becoming a leaf when its last child goes. Access times are a counter, not a clock, so
  eviction order is reproducible; ties go to the older page.
- `reset` (POST /flush_cache) empties it, only when no request holds a page (SGLang refuses
  to flush with requests running or waiting).

Disabled (`--disable-radix-cache`), nothing matches and nothing is kept.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

PAGE_SIZE = 128


@dataclass(eq=False)
class Page:
    """One page of the tree: `PAGE_SIZE` token ids below its parent's."""

    key: tuple[int, ...]
    parent: Page | None
    order: int  # creation number: the tie-break of equal access times
    children: dict[tuple[int, ...], Page] = field(default_factory=dict)
    lock_ref: int = 0
    last_access: int = 0


class PrefixCache:
    def __init__(self, *, enabled: bool = True, page_size: int = PAGE_SIZE):
        self.enabled = enabled
        self.page_size = page_size
        self._orders = itertools.count(1)
        self._ticks = itertools.count(1)
        self.root = Page((), None, 0, lock_ref=1)  # never evicted
        self.tokens = 0  # tokens held by the tree (whole pages)
        self.evictable_tokens = 0  # tokens of pages no request holds

    def _pages(self, ids: Sequence[int]) -> list[tuple[int, ...]]:
        n = len(ids) // self.page_size
        return [tuple(ids[i * self.page_size : (i + 1) * self.page_size]) for i in range(n)]

    def match(self, ids: Sequence[int]) -> tuple[int, Page]:
        """(cached tokens, last page) of the longest page-aligned cached prefix of `ids`,
        leaving at least one token uncached; every page on the path counts as used now."""
        node = self.root
        if not self.enabled or len(ids) < 2:
            return 0, node
        tick = next(self._ticks)
        matched = 0
        for key in self._pages(ids[: len(ids) - 1]):
            child = node.children.get(key)
            if child is None:
                break
            child.last_access = tick
            node = child
            matched += self.page_size
        return matched, node

    def insert(self, ids: Sequence[int]) -> tuple[int, Page]:
        """Add the full pages of `ids`: (tokens newly cached, last page of `ids`)."""
        node = self.root
        if not self.enabled:
            return 0, node
        tick = next(self._ticks)
        added = 0
        for key in self._pages(ids):
            child = node.children.get(key)
            if child is None:
                child = Page(key, node, next(self._orders))
                node.children[key] = child
                added += self.page_size
                self.evictable_tokens += self.page_size  # held by nobody yet
            child.last_access = tick
            node = child
        self.tokens += added
        return added, node

    def lock(self, page: Page) -> None:
        """A running request holds `page` and every page above it."""
        node: Page | None = page
        while node is not None and node is not self.root:
            if node.lock_ref == 0:
                self.evictable_tokens -= self.page_size
            node.lock_ref += 1
            node = node.parent

    def unlock(self, page: Page) -> None:
        node: Page | None = page
        while node is not None and node is not self.root:
            node.lock_ref -= 1
            if node.lock_ref == 0:
                self.evictable_tokens += self.page_size
            node = node.parent

    def evict(self, tokens: int) -> int:
        """Free at least `tokens` (when that many are evictable), least recently used leaves
        first; returns the tokens freed."""
        heap = [(p.last_access, p.order, p) for p in self._leaves() if p.lock_ref == 0]
        heapq.heapify(heap)
        freed = 0
        while freed < tokens and heap:
            _access, _order, page = heapq.heappop(heap)
            parent = page.parent
            assert parent is not None  # the root is never a candidate
            del parent.children[page.key]
            freed += self.page_size
            self.tokens -= self.page_size
            self.evictable_tokens -= self.page_size
            if parent is not self.root and not parent.children and parent.lock_ref == 0:
                heapq.heappush(heap, (parent.last_access, parent.order, parent))
        return freed

    def _leaves(self) -> list[Page]:
        out, stack = [], [self.root]
        while stack:
            node = stack.pop()
            if node.children:
                stack.extend(node.children.values())
            elif node is not self.root:
                out.append(node)
        return out

    def reset(self) -> bool:
        """Empty the tree; refused (False) while a request holds a page."""
        if self.evictable_tokens != self.tokens:
            return False
        self.root.children.clear()
        self.tokens = self.evictable_tokens = 0
        return True
