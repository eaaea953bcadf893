"""The portal's database as the ``allimi`` command runs it: the embedded PostGIS
(``provision``), the owner's and the reader's URLs (``database``), schema migrations
(``migrate``). The web application never imports it: it is handed a ready URL to read with.
"""
