"""Everything that is not the product: the sample portal, the synthetic EPD generator and
the offline demo built on them.

The product (``pipelines``, ``assets``) never imports this package; only the ``opioids
demo``, ``sample-portal`` and ``generate-epd`` commands reach it, and the tests and
benchmarks use it as their fixture.
"""
