## Excel roster import and export (storage/roster_import.py, storage/xlsx_write.py).
## Every message says what is wrong and how to fix it. Row messages name the row and the column
## (the header as written in the file), so they read well on their own in a chat or in the report sheet.

## The file as a whole

xl-file-empty = 文件是空的。请上传填好实验室名单的 Excel 工作簿（.xlsx）。
xl-file-csv = 这个文件看起来是 CSV 或纯文本，只是扩展名改成了 .xlsx。请用 Excel 或 WPS 打开它，“另存为”Excel 工作簿（*.xlsx）后再上传。
xl-file-html = 这个文件看起来是网页（HTML）或 XML 表格，只是用了 Excel 的扩展名（有些系统导出的“Excel”就是这样）。请用 Excel 或 WPS 打开它，“另存为”Excel 工作簿（*.xlsx）后再上传。
xl-file-xls = 这是旧版 Excel 97-2003 格式（.xls），无法直接导入。请用 Excel 或 WPS 打开，“另存为”Excel 工作簿（*.xlsx）后再上传。
xl-file-encrypted = 这个 Excel 文件设置了打开密码，无法读取。请在 Excel 或 WPS 中去掉打开密码，另存为 .xlsx 后再上传。
xl-file-other-format = 这是 { $format } 文件，不是 Excel 工作簿。请把名单整理到 Excel 或 WPS 表格中，另存为 .xlsx 后再上传。
xl-file-not-xlsx = 无法识别这个文件，它不是 Excel 工作簿（.xlsx）。请用 Excel 或 WPS 另存为 .xlsx 后再上传。
xl-file-corrupt = 文件已损坏或不完整，无法打开。请确认它能在 Excel 或 WPS 中正常打开，重新另存为 .xlsx 后再上传。
xl-file-too-large = 文件解压后约 { NUMBER($size_mb, useGrouping: 0) } MB，超过 { NUMBER($max_mb, useGrouping: 0) } MB 的上限，不像一份实验室名单。请只保留名单工作表，删除图片等无关内容，另存为 .xlsx 后再上传。
xl-file-no-sheets = 工作簿里没有可读取的工作表。请把名单放在普通工作表中（第一行为表头），另存为 .xlsx 后再上传。
xl-file-missing-columns = 工作表“{ $sheet }”缺少必需的列：{ $missing }。第 { NUMBER($header_row, useGrouping: 0) } 行现有的表头：{ $found }。请在表头行补上或改正这些列名后再上传。
xl-file-duplicate-column = 表头“{ $first }”和“{ $second }”指的是同一项，无法确定用哪一列。请删除或改名其中一列后再上传。
xl-file-too-many-rows = 名单超过 { NUMBER($max, useGrouping: 0) } 行，无法一次导入。请删除表格下方多余的行，或拆成几个文件分批上传。
xl-file-too-many-sheet-rows = 工作表“{ $sheet }”超过 { NUMBER($max, useGrouping: 0) } 行（空行和只设了格式的行也算在内），无法导入。请把名单复制到新的工作表（只复制有内容的行），另存为 .xlsx 后再上传。
xl-file-no-data = 工作表“{ $sheet }”只有表头，没有实验室数据。请从表头下一行开始填写名单后再上传。

## One cell

xl-required-missing = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”是必填项，但这一格是空的。请填写后重新上传。
xl-cell-formula = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”是公式，不能导入。请复制这一列，用“选择性粘贴→数值”粘贴回原处后再上传。
xl-cell-error = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”显示错误值 { $value }（通常来自公式）。请改为实际内容后再上传。
xl-cell-date = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”是日期或时间（{ $value }），这里应填文字。请把这一列设为“文本”格式，重新输入正确内容。
xl-cell-bool = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”是逻辑值 { $value }，这里应填文字。请改为正确内容后再上传。
xl-cell-decimal = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”是小数 { $value }，这里应填编码或文字。请把这一列设为“文本”格式，重新输入正确内容。
xl-cell-long-number = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”是一个很长的数字（{ $value }），Excel 只保留 15 位有效数字，后面几位已经丢失。请把这一列设为“文本”格式，重新输入完整内容。
xl-too-long = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”太长：{ $length } 个字，最多 { $max } 个。请删减后再上传。
xl-invalid-date = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”的“{ $value }”不是有效日期。请填写如 2027-12-31 的日期，或把单元格设为日期格式。

## The value against the rules

xl-unknown-type = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”的“{ $value }”不是可用的机构类型。可填：{ $allowed }。
xl-unknown-level = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”的“{ $value }”不是可用的等级。可填：{ $allowed }。
xl-unknown-city = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”的“{ $value }”不在地市名单中。可填（带不带“市”字均可）：{ $allowed }。
xl-invalid-mobile = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”的“{ $value }”不是有效的手机号。请填写 11 位手机号，例如 13812345678。
xl-invalid-credit-code = 第 { NUMBER($row, useGrouping: 0) } 行“{ $column }”的“{ $value }”不是有效的统一社会信用代码。请对照证书核对这 18 位代码（数字和大写字母，不含 I、O、S、V、Z）。
xl-duplicate-code = 第 { NUMBER($row, useGrouping: 0) } 行的实验室编码“{ $value }”与第 { NUMBER($first_row, useGrouping: 0) } 行重复。每个编码只能出现一次，请核对后删除或改正其中一行。
xl-hidden-char-code = 第 { NUMBER($row, useGrouping: 0) } 行的实验室编码含有看不见的字符或改变文字方向的控制字符（{ $char }），输入时会对不上。请删除这一格，重新输入编码后再上传。
xl-contact-without-mobile = 第 { NUMBER($row, useGrouping: 0) } 行填了联系人，但没有手机号。请补上手机号，或把联系人也清空。
xl-mobile-without-contact = 第 { NUMBER($row, useGrouping: 0) } 行填了手机号，但没有联系人姓名。请补上联系人，或把手机号也清空。
xl-backup-contact-without-mobile = 第 { NUMBER($row, useGrouping: 0) } 行填了备用联系人，但没有备用联系人手机。请补上手机号，或把备用联系人也清空。
xl-backup-mobile-without-contact = 第 { NUMBER($row, useGrouping: 0) } 行填了备用联系人手机，但没有备用联系人姓名。请补上姓名，或把这个手机号也清空。

## Summary and the import report workbook

xl-import-summary = 名单共 { NUMBER($total, useGrouping: 0) } 行：导入 { NUMBER($accepted, useGrouping: 0) } 行，退回 { NUMBER($refused, useGrouping: 0) } 行。{ $refused ->
        [0] 全部导入成功。
       *[other] 退回的行及原因见问题清单，改正后重新上传即可。
    }
xl-report-sheet-title = 导入问题
xl-report-col-row = 行号
xl-report-col-column = 列
xl-report-col-problem = 问题及修改方法
