"""CSV import and export of orders, products and stock, for stores on any platform (docs/connectors.md).

    columns   the documented columns of each file, how a header is matched, how cells are read and written
    orders    rows → one generic order each (validated by generic.order_from, fed to the inbox); orders → rows
    products  rows → products with their variants; variants → rows
    stock     rows → stock levels to set (absolute on-hand counts); levels → rows

Pure: nothing here reads or writes the database.
"""
