## Descriptions of the commands in Telegram's command menu (cmd-<command>), at most 256 characters.

cmd-start = Start / main menu
cmd-menu = Main menu
cmd-status = My registration progress and the deadline
cmd-faq = Questions and the centre's contacts
cmd-help = How to use this bot
cmd-lang = Language: 中文/English
cmd-cancel = Leave what you are doing
cmd-restart = Start over
cmd-myid = Show my user id
cmd-queue = Review queue
cmd-lab = A lab's file (code or name)
cmd-stats = Registration figures
cmd-approve = Approve several at once
cmd-note = Add words to a return
cmd-export = Export all registrations (Excel)
cmd-import = Import the roster of labs
cmd-codes = Issue binding codes
cmd-unbind = Remove a person's access to a lab
cmd-reviewers = The reviewers
cmd-grant = Add a reviewer
cmd-revoke = Remove a reviewer
cmd-broadcast = Send a notice
cmd-payment = Announce the fee payment
cmd-audit = A lab's change log
cmd-votes = FAQ feedback
cmd-other = Centre staff command
