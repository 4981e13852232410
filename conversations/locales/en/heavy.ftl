## Heavy work: big uploads, crafted PDFs, rosters and exports (storage/heavy.py and its callers).

rv-pre-pdf-active = ⛔ The PDF contains executable content (JavaScript/launch): what reviewers see are re-rendered page images; do not open the original
rv-doc-rendered = The PDF's pages re-rendered as images ({ $pages } pages, the first { $shown } shown)
rv-doc-unrenderable = ⚠️ This PDF could not be re-rendered, so the original was not forwarded; view it on the server in isolation.
error-album-failed = Sorry, handling this group of { $count } files failed and nothing was saved. Please send them again (one at a time works too).
adm-import-reading = Reading the roster ({ NUMBER($kb, useGrouping: 0) } KB), { NUMBER($rows, useGrouping: 0) } rows so far… The import's result follows when it is done.
