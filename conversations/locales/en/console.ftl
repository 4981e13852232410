## The console demo's own words (around the bot's messages).

con-help =
    Type to chat; type a number to press a button; /help lists the bot's commands
    :photo path   send a picture as a photo       :file path   send a file (PDF, image)
    :album path1 path2 …   send several photos at once (an album)
    :as lab | reviewer | new   switch persona (lab contact / reviewer / new user)
    :help this text   :quit leave
con-persona-lab = lab contact (bound to HN0001)
con-persona-reviewer = the centre's reviewer (review group)
con-persona-new = a new, unbound user
con-now-as = === You are now { $name }, { $title } ===
con-file-missing = (no such file: { $paths })
con-unknown = (unknown console command; :help explains them)
con-waiting = 📨 a new message for the { $title }: :as { $key } to read it
con-waiting-chat = 📨 a new message for { $chat }
con-bot = Bot
con-bot-edited = Bot (updated)
con-saved = 📎 { $file } (saved to { $path })
con-banner = eqa-bot demo · { $title }
con-clock = Demo clock (fixed): { $now } ({ $zone }) · database: { $database }
con-try-binding = Try binding: type :as new to become a new user, then send /start { $lab }_{ $code } (a one-time code for { $lab })
