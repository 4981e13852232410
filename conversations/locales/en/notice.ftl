## Where the bot follows the notice's own words: BiQAS credentials for new labs, licences by institution type,
## declined mandatory specialties, step 1 after submission, tests not in the catalogue.

rv-app-biqas-sms = As the centre's notice says, the BiQAS user name and password will be sent by SMS to the mobile number given in the application ({ $mobile }). You do not need them to register here; use them to sign in to BiQAS on the centre's website ({ $website }).

plan-decline-ask = Declining the mandatory specialty “{ $name }” needs a reason for the centre. Type the reason (e.g. “we do not perform this testing”); the reviewer will see it. To take part after all, press the button below.
plan-decline-no-reason = Declining “{ $name }” needs a written reason; nothing was changed.
plan-declined-reason = Reason for not taking part in “{ $name }”: { $reason }
plan-specialties-use-buttons = Please choose the specialties with the buttons here.
rv-card-no-reason = (no reason given)

ck-overview-blood =
    Step 1: tick every test your testing laboratory performed in { $prev } (the centre counts EQA participation and pass rates from it).
    Tap a specialty to tick its tests; { $count } ticked so far. Ticks are saved as you go and can be changed until the deadline.

ck-edit-after = ✏️ Change step 1 (tests performed)
ck-resubmitted = Your change to step 1 went to the centre as submission no. { $revision }; nothing else changed.
