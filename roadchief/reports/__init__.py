"""Printable finance outputs of roadchief (PDF and XLSX).

The layouts follow ``docs/office-formats.md`` — the paper forms the offices sign:

* ``funding_pdf`` — 季度拨付表 (第十七条: funds are paid quarterly on the
  assessment result), 年度养护经费计划 (第十五条) and 年终考评及以奖代补结算
  (第二十三、二十四条), rendered with reportlab and an embedded CJK font.
* ``funding_xlsx`` — the same rows and columns as real numeric spreadsheet cells.
* ``document_model`` — the printable model both write (Document of Grid tables and
  Text lines) and the checked parsing of the JSON into it.
* ``pdf_layout`` — rendering that model to PDF: page template, tables, draft mark,
  footer and page numbers (the canvas is shared by the other PDFs).
* ``fonts`` — registration of the bundled WenQuanYi Micro Hei font.

All money is ``Decimal``; every printed subtotal and total is the sum of the
printed rows, and input totals that disagree raise ``ValueError``.
"""
