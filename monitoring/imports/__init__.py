"""Imports: one module per publisher layout turns a file into rows in our canonical columns, and
`service.import_observations_file` validates every row and writes them all or none.

    template.py  our own template (CSV or XLSX)
    sdg.py       UN SDG database (DDF), Open SDG (kazstat), SDMX-XML (Kyrgyz NSC), World Bank WDI
    wfp.py       WFP market prices (HDX layout and the old VAM layout)
    faostat.py   FAOSTAT bulk (wide and normalized) and FAOSTAT DDF extracts
"""
