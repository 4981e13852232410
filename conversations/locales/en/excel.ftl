## Excel roster import and export (storage/roster_import.py, storage/xlsx_write.py).
## Every message says what is wrong and how to fix it. Row messages name the row and the column
## (the header as written in the file), so they read well on their own in a chat or in the report sheet.

## The file as a whole

xl-file-empty = The file is empty. Please upload the lab roster as an Excel workbook (.xlsx).
xl-file-csv = This looks like CSV text with its name changed to .xlsx. Open it in Excel or WPS, save it as an Excel workbook (*.xlsx), then upload the new file.
xl-file-html = This looks like a web page (HTML) or an XML table with an Excel file name (some systems export "Excel" files like this). Open it in Excel or WPS, save it as an Excel workbook (*.xlsx), then upload it again.
xl-file-xls = This is the old Excel 97-2003 format (.xls), which cannot be imported. Open it in Excel or WPS, save it as an Excel workbook (*.xlsx), then upload it again.
xl-file-encrypted = This Excel file is protected by an opening password and cannot be read. Remove the password in Excel or WPS, save as .xlsx, then upload it again.
xl-file-other-format = This is a { $format } file, not an Excel workbook. Put the roster into an Excel or WPS spreadsheet, save it as .xlsx, then upload it.
xl-file-not-xlsx = This file is not recognised as an Excel workbook (.xlsx). Save it as .xlsx in Excel or WPS, then upload it again.
xl-file-corrupt = The file is damaged or incomplete and cannot be opened. Check that it opens in Excel or WPS, save it again as .xlsx, then upload it.
xl-file-too-large = Unpacked, the file is about { NUMBER($size_mb, useGrouping: 0) } MB, over the { NUMBER($max_mb, useGrouping: 0) } MB limit: far too large to be a lab roster. Keep only the roster sheet, remove pictures and other content, save as .xlsx, then upload it again.
xl-file-no-sheets = The workbook has no readable worksheet. Put the roster on an ordinary worksheet (headers in the first row), save as .xlsx, then upload it again.
xl-file-missing-columns = Sheet "{ $sheet }" lacks required columns: { $missing }. Headers found in row { NUMBER($header_row, useGrouping: 0) }: { $found }. Add or correct these headers, then upload again.
xl-file-duplicate-column = The headers "{ $first }" and "{ $second }" mean the same thing, so it is unclear which column to use. Delete or rename one of them, then upload again.
xl-file-too-many-rows = The roster has more than { NUMBER($max, useGrouping: 0) } rows and cannot be imported at once. Delete stray rows below the table, or split it into several files.
xl-file-too-many-sheet-rows = The sheet “{ $sheet }” has more than { NUMBER($max, useGrouping: 0) } rows (empty and merely formatted rows count too) and cannot be imported. Copy the roster (only the rows with content) to a new sheet, save as .xlsx, then upload it again.
xl-file-no-data = Sheet "{ $sheet }" has headers but no labs. Fill in the roster from the row below the headers, then upload again.

## One cell

xl-required-missing = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": this value is required but the cell is empty. Fill it in and upload again.
xl-cell-formula = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": the cell holds a formula, which cannot be imported. Copy the column and use Paste Special → Values in place, then upload again.
xl-cell-error = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": the cell shows the error { $value } (usually from a formula). Replace it with the actual value, then upload again.
xl-cell-date = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": the cell holds a date or time ({ $value }) where text is expected. Format the column as Text and type the correct value again.
xl-cell-bool = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": the cell holds the logical value { $value } where text is expected. Replace it with the correct value.
xl-cell-decimal = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": the cell holds the decimal number { $value } where a code or text is expected. Format the column as Text and type the correct value again.
xl-cell-long-number = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": the cell holds a long number ({ $value }); Excel keeps only 15 significant digits, so the last digits are lost. Format the column as Text and type the full value again.
xl-too-long = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": the value is too long ({ $length } characters, at most { $max }). Shorten it and upload again.
xl-invalid-date = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": "{ $value }" is not a valid date. Enter a date such as 2027-12-31, or format the cell as a date.

## The value against the rules

xl-unknown-type = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": "{ $value }" is not an accepted institution type. Use one of: { $allowed }.
xl-unknown-level = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": "{ $value }" is not an accepted level. Use one of: { $allowed }.
xl-unknown-city = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": "{ $value }" is not in the list of cities. Use one of (with or without 市): { $allowed }.
xl-invalid-mobile = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": "{ $value }" is not a valid mobile number. Enter an 11-digit mainland mobile number, e.g. 13812345678.
xl-invalid-credit-code = Row { NUMBER($row, useGrouping: 0) }, "{ $column }": "{ $value }" is not a valid unified social credit code. Check the 18 characters against the certificate (digits and capital letters, never I, O, S, V or Z).
xl-duplicate-code = Row { NUMBER($row, useGrouping: 0) }: lab code "{ $value }" already appears in row { NUMBER($first_row, useGrouping: 0) }. Each code may appear only once; delete or correct one of the two rows.
xl-hidden-char-code = Row { NUMBER($row, useGrouping: 0) }: the lab code contains an invisible or text-direction character ({ $char }), so it would never match when typed. Clear the cell, type the code again and upload once more.
xl-contact-without-mobile = Row { NUMBER($row, useGrouping: 0) }: a contact is given but no mobile number. Add the mobile number, or clear the contact too.
xl-mobile-without-contact = Row { NUMBER($row, useGrouping: 0) }: a mobile number is given but no contact name. Add the contact name, or clear the mobile number too.
xl-backup-contact-without-mobile = Row { NUMBER($row, useGrouping: 0) }: a backup contact is given but no backup mobile. Add the mobile number, or clear the backup contact too.
xl-backup-mobile-without-contact = Row { NUMBER($row, useGrouping: 0) }: a backup mobile is given but no backup contact name. Add the name, or clear that mobile number too.

## Summary and the import report workbook

xl-import-summary = The roster has { NUMBER($total, useGrouping: 0) } { $total ->
        [one] row
       *[other] rows
    }: { NUMBER($accepted, useGrouping: 0) } imported, { NUMBER($refused, useGrouping: 0) } refused. { $refused ->
        [0] Everything was imported.
       *[other] The refused rows and the reasons are in the problem list; correct them and upload again.
    }
xl-report-sheet-title = Import problems
xl-report-col-row = Row
xl-report-col-column = Column
xl-report-col-problem = Problem and how to fix it
