## /unbind: an admin removes a person's access to a lab (handlers/admin_unbind.py).

unbind-usage = Usage: /unbind lab-code — lists the people linked to that lab; then pick the one to remove (someone who left or moved on).
unbind-unknown-lab = There is no lab with the code “{ $code }”. Check the code and try again.
unbind-none = Nobody is linked to { $lab } ({ $code }) at the moment.
unbind-pick = These people are linked to { $lab } ({ $code }). Pick the one to remove:
unbind-person = { $name } ({ $role }, { $user })
unbind-role-main = contact
unbind-role-backup = backup contact
unbind-confirm = Remove { $name } from { $lab } ({ $code })? They will no longer see or work on this lab's registration; to undo it, issue a new binding code (/codes) for them.
unbind-btn-confirm = ✅ Remove
unbind-btn-cancel = Cancel
unbind-cancelled = Cancelled; nothing changed.
unbind-done = { $name } no longer has access to { $lab } ({ $code }); this is in the change log.
unbind-already = { $name } is no longer a contact of { $lab } ({ $code }); nothing to do.
unbind-told = The centre has removed your link to { $lab } ({ $code }); you can no longer work on its registration. If this is a mistake, contact the centre.
