"""The pure core: products, order lines, prices and stock rules. No I/O."""
