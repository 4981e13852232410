## The agreement form's institution fields and the printed name at the signature (see storage/pdf.py).

pdf-department = 科室：
pdf-credit-code = 统一社会信用代码：
pdf-address = 地址：
pdf-head-name = 科室负责人：
