## After the centre returns a document: the refused files are shown as refused and a new file is due.

doc-refused-line = ❌ 中心退回的 { $count } 份已作废，不再计入，请发送新的文件。
doc-refused-again = 这份文件就是中心退回的那一份，不能再次提交。请按退回原因重新拍照或扫描后发送新的文件。
