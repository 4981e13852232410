# What was read on an uploaded licence or agreement (storage.reading), told to the lab at upload.
read-no-licence = 照片上没有找到许可证的文字，请上传执业许可证（正本或副本）的照片或扫描件。
read-licence-expired = 照片上的许可证有效期至 { $until }，已经过期，请上传换发后的许可证。
read-licence-expires-before-samples = 照片上的许可证有效期至 { $until }，样品发放（{ $samples }）前将过期，请上传换发后的许可证。
read-licence-name = 许可证上的机构名称（{ $name }）与开票单位（{ $title }）不一致，请确认。
read-licence-type = 照片上是《{ $type }》，与单位类型（{ $institution }）不符，请确认上传的是本单位的执业许可证。
read-licence-number = 许可证上的登记号（{ $read }）与登记信息（{ $typed }）不同。
read-agreement-year = 这是 { $year } 年的协议，请下载 { $expected } 年协议，签字盖章后再上传。
read-agreement-lab = 这是另一家单位（{ $code }）的协议，请下载本单位的协议，签字盖章后再上传。
read-agreement-unidentified = 没有在照片上找到协议的二维码或文档编号，请确认上传的是本系统生成的 { $year } 年协议，并拍全整页。
read-no-signature = 没有找到科室负责人签字。
read-seal-not-in-box = 公章没有盖在“单位公章”框内。

# The reviewer's card: what was read beside what the lab typed.
rdr-licence = 许可证识别（{ $n }）：
rdr-agreement = 协议识别（{ $n }）：{ $what }
rdr-not-read = 未识别（{ $why }）
rdr-why-timeout = 超时
rdr-why-error = 读取失败
rdr-no-text = 未找到许可证文字
rdr-field = { $mark } { $field }：{ $read }（{ $confidence }）· 填写：{ $typed }
rdr-field-only = { $mark } { $field }：{ $read }（{ $confidence }）
rdr-f-type = 类型
rdr-f-name = 名称
rdr-f-number = 登记号
rdr-f-validity = 有效期
rdr-f-authority = 发证机关
rdr-validity = { $from } 至 { $to }
rdr-qr = 二维码 { $document_id }
rdr-text = 文档编号 { $document_id }（{ $confidence }）
rdr-unidentified = 未找到二维码或编号
rdr-sign = 签字{ $state }
rdr-seal = 公章{ $state }
rdr-page = 第 { $page } 页
