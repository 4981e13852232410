## After the centre returns a document: the refused files are shown as refused and a new file is due.

doc-refused-line = ❌ The { $count } file(s) the centre returned no longer count: please send a new file.
doc-refused-again = This is the very file the centre returned; it cannot be submitted again. Please take a new photo or scan as the return reasons ask and send that.
