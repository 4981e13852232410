# What was read on an uploaded licence or agreement (storage.reading), told to the lab at upload.
read-no-licence = No licence text was found on this picture. Please send a photo or scan of the practice licence.
read-licence-expired = The licence in the photo is valid until { $until }: it has expired. Please upload the renewed licence.
read-licence-expires-before-samples = The licence in the photo is valid until { $until }: it expires before the samples go out ({ $samples }). Please upload the renewed licence.
read-licence-name = The institution on the licence ({ $name }) differs from the invoice title ({ $title }). Please check.
read-licence-type = The photo shows a “{ $type }”, which does not fit the institution type ({ $institution }). Please check it is your institution's licence.
read-licence-number = The registration number on the licence ({ $read }) differs from the one on file ({ $typed }).
read-agreement-year = This is the { $year } agreement. Please download the { $expected } agreement, sign and stamp it, and upload it again.
read-agreement-lab = This is another lab's agreement ({ $code }). Please download your own agreement, sign and stamp it, and upload it again.
read-agreement-unidentified = The agreement's QR code or document number was not found. Please make sure this is the { $year } agreement from this bot and that the whole page is in the picture.
read-no-signature = No signature of the department head was found.
read-seal-not-in-box = The official seal is not inside the “seal” box.

# The reviewer's card: what was read beside what the lab typed.
rdr-licence = Licence read ({ $n }):
rdr-agreement = Agreement read ({ $n }): { $what }
rdr-not-read = not read ({ $why })
rdr-why-timeout = timed out
rdr-why-error = failed
rdr-no-text = no licence text found
rdr-field = { $mark } { $field }: { $read } ({ $confidence }) · typed: { $typed }
rdr-field-only = { $mark } { $field }: { $read } ({ $confidence })
rdr-f-type = type
rdr-f-name = name
rdr-f-number = registration no.
rdr-f-validity = valid
rdr-f-authority = issued by
rdr-validity = { $from } to { $to }
rdr-qr = QR { $document_id }
rdr-text = document no. { $document_id } ({ $confidence })
rdr-unidentified = no QR code or number found
rdr-sign = signature { $state }
rdr-seal = seal { $state }
rdr-page = page { $page }
