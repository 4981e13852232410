## The core: welcome, menus, status, refusals.

welcome =
    Hello! I am the { $centre } EQA registration assistant. I will guide you through the { $year } External Quality Assessment registration on your phone:
    ① tick every test your laboratory performed in { $prev }
    ② check the lab, invoicing and mailing details and choose this year's specialties
    ③ upload the fee-deferral agreement, signed by the department head and stamped with the official seal, and the { $licence }
    Fees: “{ $fees }” — nothing to pay now.
    What you submit here is received by the { $centre } for review; registering on the BiQAS website ({ $website }), as the notice describes, remains possible.
    Have ready: the unified social credit code (taxpayer ID), the invoice title, the recipient and address, and the practice licence.
    中文：/lang zh
licence-generic = practice licence
who-contact = Linked laboratory: { $lab } ({ $code }).
who-staff = You are a reviewer at the centre: see the queue and the statistics.
who-guest = You have not linked a laboratory yet. Registered labs link with the code the centre sent; new labs tap “Register a new lab”.
deadline-left = Deadline: before { $deadline } — { $days ->
        [0] today is the last day.
        [one] 1 day left.
       *[other] { $days } days left.
    }
deadline-closed = Registration has closed (it had to be completed before { $deadline }); nothing can be changed or submitted now.
closed-consequence = As the notice says, labs that miss the deadline or are not approved receive no EQA samples this year. In special cases, contact the centre:

help-contact =
    Commands:
    /status your progress and what is missing
    /faq common questions (deadline, agreement, licence…)
    /cancel leave the current step   /restart start over
    /lang zh 切换到中文
    You can also just type a question, e.g. “does the agreement need a stamp?”.
help-reviewer =
    Reviewers:
    /queue pending submissions, oldest first   /lab code-or-name a lab's file
    /approve approve several at once   /note text add words to a return
    /stats statistics   /export all registrations (Excel)   /myid your user id
help-admin =
    Admins:
    /grant user-id add a reviewer   /revoke user-id remove one   /reviewers the list
    /import the lab roster (send an Excel file)   /codes lab-code issue binding codes   /unbind lab-code remove a person
    /broadcast send a notice   /audit lab-code the change log   /votes FAQ feedback

btn-continue = ▶ Continue
btn-status = 📋 Progress
btn-bind = 🔗 Link my lab
btn-apply = 🆕 Register a new lab
btn-queue = 📥 Review queue
btn-stats = 📊 Statistics
btn-faq = ❓ FAQ
btn-contacts = ☎ Contact the centre
btn-menu = 🏠 Menu
btn-back-to-step = ↩ Back to the current step
btn-helpful = 👍 Helpful
btn-not-helpful = 👎 Not helpful
btn-more-questions = Other questions

status-unbound = You have not linked a laboratory yet; link it to see your progress.
status-title = { $year } registration · { $lab } ({ $code })
step-checklist = Step 1: tests performed in { $prev }
step-plan = Step 2: details and { $year } specialties
step-documents = Step 3: agreement and practice licence
status-missing = Still missing: { $items }
status-review = Review: { $state }
status-returned-items = To send again: { $items }
missing-checklist = last year's test checklist
missing-plan = confirmation of invoicing, mailing and specialties
missing-agreement = the signed and stamped agreement
missing-licence = the practice licence
missing-licence-expired = a new practice licence (the one on file does not stay valid long enough)
review-state-draft = not submitted yet
review-state-submitted = submitted, awaiting the centre's review
review-state-returned = returned — please send the items listed again
review-state-approved = approved
item-checklist = last year's tests
item-lab_info = lab details
item-invoice = invoicing details
item-mailing = mailing details
item-specialties = specialties
item-agreement = fee-deferral agreement
item-licence = practice licence

error-internal = Sorry, something went wrong on our side. Everything you sent is saved; please try again, or send /status.
not-allowed = You are not allowed to do that.
unknown-command = There is no { $command } command. Send /help for the list, or use the buttons below.
button-unknown = This button is not recognised; please use the buttons of the newest message.
button-stale = This button has expired
button-stale-long = That button belongs to an earlier screen and no longer works; nothing was changed. Use the newest message's buttons, or continue below.
unexpected-file = No file or photo is needed right now. The agreement and licence are uploaded in step 3 — tap “Continue” first.
expected-file = This step needs a photo or a file (JPG, PNG or PDF), not text. Tap the paperclip 📎 to send one.
file-too-big = The file is too large (over { $limit } MB). Please compress it or send a photo instead.
empty-message = Nothing received. Please type something or use the buttons below.
too-long = That message is too long ({ $length } characters; at most { $limit }). Please shorten it.
no-words = I only see emoji or symbols. Please ask in words, or use the buttons below.
not-understood = I did not understand. Use the buttons below or send /help.
cancelled = Left the current step; everything saved stays saved.
nothing-to-cancel = Nothing is in progress.
restarted = Starting over; everything saved stays saved.
lang-choose = 请选择语言 / Choose a language:
lang-set = Switched to English.

faq-title = Common questions about the { $year } registration:
faq-thanks = Thanks for the feedback!
faq-not-helpful = Sorry that did not help. Try asking in other words, or contact the centre:
faq-did-you-mean = Did you mean one of these?
faq-no-match = I cannot answer that yet. Try other words, or contact the centre:
faq-your-status = Your lab's review state: { $state }.
faq-licence-expired = The licence on file does not stay valid long enough: please upload a new one.
faq-licence-sent = Your lab has uploaded its licence this year.
faq-licence-on-file = Your lab's licence is on file and still valid; if nothing on it has changed you need not send it again — choose “keep the licence on file” in step 3.
faq-licence-needed = Your lab has no licence on file yet; please upload it in step 3.
