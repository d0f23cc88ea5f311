"""The pure core: customers, their credit and its rules. No I/O."""
