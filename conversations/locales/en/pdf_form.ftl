## The agreement form's institution fields and the printed name at the signature (see storage/pdf.py).

pdf-department = Department:
pdf-credit-code = Credit code:
pdf-address = Address:
pdf-head-name = Head of department: 
