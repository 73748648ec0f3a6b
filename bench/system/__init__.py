"""What a run ran on: the host and software capture (`capture`, `bench env`), the kit's own
git checkout (`git`), the NPUs a server's parallel sizes use (`parallel`), and the nodes of
a multi-node server (`nodes`)."""
