## Heavy work: big uploads, crafted PDFs, rosters and exports (storage/heavy.py and its callers).

rv-pre-pdf-active = ⛔ PDF 含可执行内容（JavaScript/启动程序）：审核人员看到的是重新渲染的页面图像，请勿打开原文件
rv-doc-rendered = 原 PDF 的页面已重新渲染为图像（共 { $pages } 页，显示前 { $shown } 页）
rv-doc-unrenderable = ⚠️ 此 PDF 无法重新渲染，原文件未转发；请在服务器上用隔离环境查看。
error-album-failed = 抱歉，这组 { $count } 个文件处理出错，未保存。请重新发送（也可以一个一个地发送）。
adm-import-reading = 正在读取名册（{ NUMBER($kb, useGrouping: 0) } KB），已读取 { NUMBER($rows, useGrouping: 0) } 行…… 读完后会发送导入结果。
