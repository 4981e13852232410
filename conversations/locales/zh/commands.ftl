## Descriptions of the commands in Telegram's command menu (cmd-<command>), at most 256 characters.

cmd-start = 开始 / 主菜单
cmd-menu = 主菜单
cmd-status = 我的申报进度和截止时间
cmd-faq = 常见问题和中心联系方式
cmd-help = 使用说明
cmd-lang = 切换语言 中文/English
cmd-cancel = 退出当前操作
cmd-restart = 从头开始
cmd-myid = 查看我的用户 ID
cmd-queue = 待审队列
cmd-lab = 查看单位档案（编码或名称）
cmd-stats = 申报统计
cmd-approve = 批量审核通过
cmd-note = 退回时补充说明
cmd-export = 导出全部申报（Excel）
cmd-import = 导入实验室名单
cmd-codes = 生成绑定码
cmd-unbind = 解除某人与单位的绑定
cmd-reviewers = 审核员名单
cmd-grant = 添加审核员
cmd-revoke = 撤销审核员
cmd-broadcast = 群发通知
cmd-payment = 发布缴费通知
cmd-audit = 查看操作记录
cmd-votes = 常见问题反馈
cmd-other = 中心人员命令
