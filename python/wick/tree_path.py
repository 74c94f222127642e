"""Tree paths kept as parent chains (FORMAT.md "Tree paths").

Spelling every node's path would cost the sum of their lengths: the square of a file whose
long keys sit above many values. A path is its parent and one step, spelled only when asked
(a refusal's message, a lookup's match).
"""


class TreePath:
    """One step (a str or int key, or a list index) below `parent` (a TreePath, or None for
    a step of the root)."""

    __slots__ = ("parent", "step")

    def __init__(self, parent, step):
        self.parent, self.step = parent, step

    def steps(self):
        """The steps from the root down to this one."""
        out, node = [], self
        while node is not None:
            out.append(node.step)
            node = node.parent
        return out[::-1]

    def __str__(self):
        """The dotted spelling of PyTorch's state_dict keys (`model.0.weight`)."""
        return ".".join(map(str, self.steps()))
