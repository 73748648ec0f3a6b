"""The simulator's radix cache: page-aligned matches, held pages, LRU eviction, flush.

Pages of 4 tokens keep the numbers small; the simulator's own pages are 128 (SGLang's on
Ascend)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.sim.radix import PAGE_SIZE, PrefixCache


def cache(**kwargs) -> PrefixCache:
    return PrefixCache(page_size=4, **kwargs)


def test_the_simulators_pages_are_sglangs_on_ascend():
    assert PAGE_SIZE == 128


def test_a_match_is_page_aligned_and_never_the_whole_prompt():
    c = cache()
    assert c.insert(range(10))[0] == 8  # two full pages kept, the partial third one not
    assert c.tokens == 8
    assert c.match(range(20))[0] == 8
    assert c.match(range(9))[0] == 8  # 8 of 9: one token left to compute
    assert c.match(range(8))[0] == 4  # the whole prompt never: 4 of 8
    assert c.match([0, 1, 2, 9, 4])[0] == 0  # a different token inside the first page
    assert c.match([])[0] == 0 and c.match([0])[0] == 0


def test_insert_counts_only_new_pages():
    c = cache()
    assert c.insert(range(8))[0] == 8
    assert c.insert(range(12))[0] == 4  # the first two pages were there
    assert c.insert([0, 1, 2, 3, 7, 7, 7, 7])[0] == 4  # a branch after the first page
    assert (c.tokens, c.evictable_tokens) == (16, 16)


def test_held_pages_are_not_evictable_and_release_when_unlocked():
    c = cache()
    _, page = c.insert(range(12))
    c.lock(page)
    assert c.evictable_tokens == 0
    assert c.evict(100) == 0 and c.tokens == 12
    c.unlock(page)
    assert c.evictable_tokens == 12
    assert c.evict(100) == 12 and c.tokens == 0 and not c.root.children


A = [1] * 4 + [2] * 4 + [0]  # two pages, and a token to compute
B = [5] * 4 + [6] * 4 + [0]


def test_eviction_takes_the_least_recently_used_leaf_first():
    c = cache()
    c.insert(A[:8])
    c.insert(B[:8])
    c.match(A)  # A used again: B is now the least recently used
    assert c.evict(4) == 4  # B's leaf goes first
    assert c.match(A)[0] == 8 and c.match(B)[0] == 4
    c.match(A)  # A used last again
    assert c.evict(4) == 4  # then B's first page, a leaf now
    assert c.match(B)[0] == 0 and c.match(A)[0] == 8
    assert c.evict(4) == 4 and c.match(A)[0] == 4  # A's leaf before A's first page


def test_a_held_leaf_keeps_its_parents():
    c = cache()
    _, leaf = c.insert(range(8))
    c.insert([0, 1, 2, 3, 9, 9, 9, 9])  # a sibling leaf under the same first page
    c.lock(leaf)
    assert c.evict(100) == 4  # only the unheld sibling: the shared first page is held
    assert c.match(range(9))[0] == 8


def test_reset_empties_the_tree_only_when_no_request_holds_a_page():
    c = cache()
    _, page = c.insert(range(8))
    c.lock(page)
    assert c.reset() is False and c.tokens == 8
    c.unlock(page)
    assert c.reset() is True and (c.tokens, c.evictable_tokens) == (0, 0)
    assert c.match(range(9))[0] == 0


def test_disabled_it_matches_and_keeps_nothing():
    c = cache(enabled=False)
    assert c.insert(range(12))[0] == 0 and c.tokens == 0
    assert c.match(range(12))[0] == 0


@given(
    st.lists(
        st.tuples(st.sampled_from(["insert", "lock", "unlock", "evict"]),
                  st.lists(st.integers(0, 2), min_size=0, max_size=13)),
        max_size=30,
    )
)  # fmt: skip
def test_the_counts_always_agree_with_the_tree(ops):
    c = cache()
    held = []
    for op, ids in ops:
        if op == "insert":
            c.insert(ids)
        elif op == "lock":
            _, page = c.match([*ids, 0])
            c.lock(page)
            held.append(page)
        elif op == "unlock" and held:
            c.unlock(held.pop())
        elif op == "evict":
            c.evict(len(ids) * 4)
        pages, unheld = 0, 0
        stack = [c.root]
        while stack:
            node = stack.pop()
            stack.extend(node.children.values())
            if node is not c.root:
                pages += 1
                unheld += node.lock_ref == 0
                assert node.lock_ref >= 0
        assert (c.tokens, c.evictable_tokens) == (4 * pages, 4 * unheld)
