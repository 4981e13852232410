## The console demo's own words (around the bot's messages).

con-help =
    输入文字聊天；输入数字按按钮；/help 查看机器人命令
    :photo 路径   以照片发送图片       :file 路径   以文件发送（PDF、图片）
    :album 路径1 路径2 …   一次发送多张照片（相册）
    :as lab | reviewer | new   切换身份（实验室联系人 / 审核员 / 新用户）
    :help 本说明   :quit 退出
con-persona-lab = 实验室联系人（已绑定 HN0001）
con-persona-reviewer = 中心审核员（审核群）
con-persona-new = 未绑定的新用户
con-now-as = === 现在的身份：{ $name }，{ $title } ===
con-file-missing = （找不到文件 { $paths }）
con-unknown = （看不懂这个控制命令，输入 :help 查看说明）
con-waiting = 📨 有一条新消息发给 { $title }，:as { $key } 查看
con-waiting-chat = 📨 有一条新消息发给 { $chat }
con-bot = 助手
con-bot-edited = 助手（更新）
con-saved = 📎 { $file }（已保存到 { $path }）
con-banner = eqa-bot 演示 · { $title }
con-clock = 演示时间（固定）：{ $now }（{ $zone }）· 数据库：{ $database }
con-try-binding = 试试绑定：输入 :as new 切换为新用户，再发送 /start { $lab }_{ $code }（{ $lab } 洛阳市中心血站的一次性绑定码）
