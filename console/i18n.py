"""Every string the console shows, in Chinese (the default) and English.

One table, keyed by a short name; templates call ``t("key")``. Domain errors are
turned into sentences here from their stable ``code`` and ``extra`` (the ledger's own
messages are English, for API clients and logs), so a bureau officer reads
“子基金 GD-PROV 可用余额不足” rather than a code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import has_request_context, session

from ledger.errors import DomainError

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

STRINGS: dict[str, tuple[str, str]] = {
    # -- layout and navigation ------------------------------------------------------
    "console": ("管理控制台", "Console"),
    "nav.claims": ("理赔队列", "Claims"),
    "nav.subfunds": ("子基金", "Sub-funds"),
    "nav.statements": ("对账单", "Statements"),
    "nav.banks": ("合作银行", "Banks"),
    "nav.reports": ("月度报送", "Monthly reports"),
    "nav.early_warning": ("风险预警", "Early warning"),
    "nav.audit": ("审计日志", "Audit log"),
    "logout": ("退出", "Log out"),
    "switch_lang": ("English", "中文"),
    "roles": ("角色", "Roles"),
    "role.reviewer": ("审查人", "reviewer"),
    "role.approver": ("审批人", "approver"),
    "role.fund_admin": ("资金管理员", "fund admin"),
    "role.auditor": ("审计人员", "auditor"),
    "role.bank": ("银行", "bank"),
    # -- login ------------------------------------------------------------------------
    "login.title": ("登录", "Log in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.invalid": ("用户名或密码错误。", "Wrong username or password."),
    "login.locked": ("登录失败次数过多，账户已锁定，请于 {until} 后再试。",
                     "Too many failed logins: the account is locked until {until}."),
    "login.not_allowed": ("银行用户请使用 API 接口：控制台仅供财政（科技）部门和审计人员使用。",
                          "Bank users: please use the API. The console is for the bureau and auditors."),
    "login.required": ("请先登录。", "Please log in."),
    "login.welcome": ("欢迎，{name}。", "Welcome, {name}."),
    "logout.done": ("您已安全退出。", "You have logged out."),
    # -- common -----------------------------------------------------------------------
    "filter": ("筛选", "Filter"),
    "reset": ("清除", "Reset"),
    "all": ("全部", "All"),
    "none": ("无", "None"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "page_of": ("第 {page} / {pages} 页，共 {total} 条", "Page {page} of {pages}, {total} in all"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "empty": ("没有记录。", "Nothing here."),
    "confirm": ("确认执行此操作？", "Carry out this action?"),
    # -- claims queue -------------------------------------------------------------------
    "claims.title": ("理赔队列", "Claim queue"),
    "claims.empty": ("没有符合条件的理赔。", "No claim matches."),
    "f.status": ("状态", "Status"),
    "f.bank": ("银行", "Bank"),
    "f.scheme": ("方案", "Scheme"),
    "f.region": ("地区代码（前缀）", "Region (code or prefix)"),
    "f.min_age": ("受理至少（天）", "Age at least (days)"),
    "f.max_age": ("受理至多（天）", "Age at most (days)"),
    "col.id": ("编号", "No."),
    "col.submitted": ("提交时间", "Submitted"),
    "col.bank": ("银行", "Bank"),
    "col.scheme": ("方案", "Scheme"),
    "col.enterprise": ("企业", "Enterprise"),
    "col.region": ("地区", "Region"),
    "col.status": ("状态", "Status"),
    "col.compensation": ("补偿额", "Compensation"),
    "col.age": ("天数", "Age (days)"),
    "col.decide_by": ("办结时限", "Decide by"),
    "f.overdue": ("办结时限", "SLA clock"),
    "f.overdue_yes": ("已超期", "Overdue"),
    "f.overdue_no": ("未超期", "Not overdue"),
    "f.sort": ("排序", "Order"),
    "sort.submitted_at": ("提交时间（早→晚）", "Submitted, oldest first"),
    "sort.-submitted_at": ("提交时间（晚→早）", "Submitted, newest first"),
    "sort.decide_by": ("办结时限（近→远）", "Decide by, earliest first"),
    "sort.-decide_by": ("办结时限（远→近）", "Decide by, latest first"),
    "overdue": ("已超期", "overdue"),
    "k.decide_by": ("办结时限", "Decide by"),
    "claim.dossier": ("申请材料", "Dossier"),
    "d.kind": ("材料类型", "Kind"),
    "d.required": ("必备", "Required"),
    "d.file": ("文件", "File"),
    "d.size": ("大小（字节）", "Size (bytes)"),
    "d.uploaded": ("上传", "Uploaded"),
    "d.missing": ("缺失", "missing"),
    "d.superseded": ("已被替代", "superseded"),
    "d.history": ("历次上传", "All uploads"),
    # -- early warning ---------------------------------------------------------------------
    "ew.title": ("风险预警：合作银行不良率走势", "Early warning: banks' NPL ratios month by month"),
    "ew.rule": ("不良率达到暂停阈值的五分之四以上，或连续两个月上升的银行将被标记。",
                "A bank is flagged when its NPL ratio is within a fifth of a suspension threshold, or rose two months running."),
    "ew.chart": ("{bank} · {scheme} 不良率", "{bank} · {scheme}: NPL ratio"),
    "ew.month": ("月份", "Month"),
    "ew.compensation": ("当月支付补偿", "Compensation paid"),
    "ew.flag.near_threshold": ("接近阈值", "near threshold"),
    "ew.flag.rising": ("连续上升", "rising"),
    # -- monthly reports -------------------------------------------------------------------
    "reports.title": ("贷款月度报送情况", "Monthly loan-level reports"),
    "reports.period": ("报送月份", "Month"),
    "reports.status": ("报送情况", "Status"),
    "reports.due_on": ("截止日", "Due on"),
    "reports.received_on": ("收到日", "Received on"),
    "reports.count": ("份数（含更正）", "Reports (with corrections)"),
    "reports.received": ("已收到的报送", "Reports received"),
    "reports.sequence": ("序号", "No. in month"),
    "reports.lines": ("笔数", "Lines"),
    "reports.applied": ("已入账事件", "Events applied"),
    "reports.missing": ("漏报", "Missing"),
    "reports.unknown": ("未知贷款", "Unknown"),
    "reports.mismatches": ("不一致", "Mismatches"),
    "reports.s.on_time": ("按时报送", "on time"),
    "reports.s.late": ("逾期报送", "late"),
    "reports.s.missing": ("未报送", "missing"),
    "reports.s.pending": ("尚未到期", "not yet due"),
    "reports.s.no_duty": ("未设报送期限", "no deadline set"),
    # -- banks ------------------------------------------------------------------------------
    "banks.title": ("合作银行：不良率与组合补偿上限", "Banks: NPL ratios and portfolio caps"),
    "banks.outstanding": ("未偿本金", "Outstanding"),
    "banks.non_performing": ("不良贷款余额", "Non-performing"),
    "banks.npl_ratio": ("不良率", "NPL ratio"),
    "banks.suspend_reg": ("暂停备案阈值", "Registrations suspended above"),
    "banks.suspend_comp": ("暂停补偿阈值", "Compensation suspended above"),
    "banks.portfolio": ("组合补偿上限（按放款年度）", "Portfolio cap by vintage"),
    "banks.portfolio_chart": ("{bank} 组合补偿上限使用情况", "{bank}: portfolio cap used"),
    "banks.vintage": ("放款年度", "Vintage"),
    "banks.rate": ("上限比例", "Rate"),
    "banks.registered": ("备案本金", "Registered"),
    "banks.cap": ("上限", "Cap"),
    "banks.approved": ("已批准补偿", "Approved"),
    "banks.left": ("剩余额度", "Left"),
    "banks.utilisation": ("使用率", "Utilisation"),
    # -- claim detail -----------------------------------------------------------------
    "claim.title": ("理赔 {id}", "Claim {id}"),
    "claim.back": ("返回队列", "Back to the queue"),
    "claim.summary": ("概要", "Summary"),
    "claim.loan": ("贷款", "Loan"),
    "claim.enterprise": ("企业", "Enterprise"),
    "claim.computation": ("补偿计算过程", "How the compensation was computed"),
    "claim.payers": ("出资方分摊", "Payers"),
    "claim.history": ("处理记录", "History"),
    "claim.recoveries": ("追偿返还", "Recoveries"),
    "claim.clawbacks": ("追缴", "Clawbacks"),
    "claim.actions": ("操作", "Actions"),
    "claim.no_actions": ("您的角色在此状态下无可执行的操作。", "Your roles allow no action on the claim in this state."),
    "claim.review": ("审查意见", "Review"),
    "claim.review_line": ("{rec}：{comment}（{by}）", "{rec}: {comment} ({by})"),
    "claim.reviewer": ("审查人", "Reviewer"),
    "claim.approver": ("审批人", "Approver"),
    "claim.decision_reason": ("审批理由", "Decision reason"),
    "claim.return_reason": ("退回原因", "Returned because"),
    "claim.payment": ("支付", "Payment"),
    "k.loan_id": ("贷款编号", "Loan id"),
    "k.external_id": ("银行贷款编号", "Bank's loan id"),
    "k.principal": ("贷款本金", "Principal"),
    "k.outstanding_now": ("当前未偿本金", "Outstanding now"),
    "k.disbursed_on": ("放款日", "Disbursed on"),
    "k.maturity_on": ("到期日", "Matures on"),
    "k.loan_status": ("贷款状态", "Loan status"),
    "k.default_on": ("违约日", "Default on"),
    "k.claimed_on": ("申请日", "Claimed on"),
    "k.outstanding_principal": ("违约时未偿本金", "Outstanding at default"),
    "k.rule_version": ("规则版本", "Rule version"),
    "k.name": ("名称", "Name"),
    "k.credit_code": ("统一社会信用代码", "Credit code"),
    "k.categories": ("企业类别", "Categories"),
    "k.ratio": ("补偿比例", "Ratio"),
    "k.eligible_loss": ("可补偿损失", "Eligible loss"),
    "k.compensation": ("计算补偿额", "Computed compensation"),
    "k.approved_amount": ("批准金额", "Approved amount"),
    "k.recovered": ("已返还", "Returned"),
    "k.clawed_back": ("已追缴", "Clawed back"),
    "k.payment_reference": ("支付凭证号", "Payment reference"),
    "k.paid_on": ("支付日期", "Paid on"),
    "p.subfund": ("子基金", "Sub-fund"),
    "p.share": ("分摊比例", "Share"),
    "p.amount": ("金额", "Amount"),
    "p.reserved": ("已预留", "Reserved"),
    "p.paid": ("已支付", "Paid"),
    "p.offset": ("抵扣追缴欠款", "Offset against debt"),
    "p.recovered": ("追偿返还", "Recovered"),
    "p.fallback": ("（替补出资）", "(fallback)"),
    "h.at": ("时间", "When"),
    "h.action": ("操作", "Action"),
    "h.status": ("状态变化", "Status"),
    "h.actor": ("操作人", "By"),
    "h.comment": ("说明", "Comment"),
    "r.recovered_on": ("追回日", "Recovered on"),
    "r.amount": ("追回金额", "Amount recovered"),
    "r.cumulative": ("累计追回", "Cumulative"),
    "r.returned": ("本次返还资金池", "Returned to the pool"),
    "c.amount": ("追缴金额", "Amount"),
    "c.reason": ("理由", "Reason"),
    "c.by": ("操作人", "By"),
    "c.at": ("时间", "When"),
    # -- action forms -----------------------------------------------------------------
    "a.review": ("提交审查意见", "Submit review"),
    "a.recommendation": ("建议", "Recommendation"),
    "a.comment": ("意见", "Comment"),
    "a.approve": ("批准并预留资金", "Approve and reserve"),
    "a.amount_optional": ("批准金额（留空＝计算额；调减须填理由）", "Amount (empty = as computed; less needs a reason)"),
    "a.reason": ("理由", "Reason"),
    "a.reject": ("驳回", "Reject"),
    "a.pay": ("确认已支付", "Record payment"),
    "a.payment_reference": ("支付凭证号", "Payment reference"),
    "a.paid_on": ("支付日期", "Paid on"),
    "a.clawback": ("追缴", "Claw back"),
    "a.clawback_amount": ("追缴金额（留空＝全部可追缴金额）", "Amount (empty = all that can be clawed back)"),
    "a.statement": ("下载补偿结算单", "Download the compensation statement"),
    "a.confirm_review": ("确认提交对理赔 {id} 的审查意见？", "Submit your review of claim {id}?"),
    "a.confirm_approve": ("确认批准理赔 {id}？将在各出资子基金中预留资金。",
                          "Approve claim {id}? Its payers' money will be reserved."),
    "a.confirm_reject": ("确认驳回理赔 {id}？", "Reject claim {id}?"),
    "a.confirm_pay": ("确认理赔 {id} 已支付？预留资金将转为支出。", "Record claim {id} as paid? The reservations become payouts."),
    "a.confirm_clawback": ("确认追缴理赔 {id}？该金额将成为银行对出资方的欠款。",
                           "Claw back claim {id}? The amount becomes the bank's debt to the payers."),
    "done.review": ("已提交对理赔 {id} 的审查意见。", "Your review of claim {id} is recorded."),
    "done.return": ("理赔 {id} 已退回银行补充材料。", "Claim {id} was returned to the bank."),
    "done.approve": ("理赔 {id} 已批准，已预留 {amount}。", "Claim {id} approved; {amount} reserved."),
    "done.reject": ("理赔 {id} 已驳回。", "Claim {id} rejected."),
    "done.pay": ("理赔 {id} 已记录支付。", "Claim {id} recorded as paid."),
    "done.clawback": ("已对理赔 {id} 追缴 {amount}。", "{amount} clawed back from claim {id}."),
    "rec.approve": ("建议批准", "Recommend approval"),
    "rec.reject": ("建议驳回", "Recommend rejection"),
    "rec.return": ("退回银行补充材料", "Return to the bank for information"),
    # -- sub-funds ----------------------------------------------------------------------
    "subfunds.title": ("子基金余额与风险敞口", "Sub-fund balances and exposure"),
    "s.code": ("代码", "Code"),
    "s.name": ("名称", "Name"),
    "s.available": ("可用", "Available"),
    "s.reserved": ("已预留", "Reserved"),
    "s.paid": ("已支付", "Paid"),
    "s.recovered": ("追偿返还", "Recovered"),
    "s.contributed": ("累计注资", "Contributed"),
    "s.contingent": ("或有负债", "Contingent liability"),
    "s.loans": ("在贷笔数", "Active loans"),
    "s.coverage": ("覆盖倍数", "Coverage"),
    "s.total": ("合计", "Total"),
    "chart.exposure": ("或有负债与可用资金（按子基金）", "Contingent liability vs available money, per sub-fund"),
    "chart.leverage": ("杠杆使用与上限（按方案）", "Leverage used vs limit, per scheme"),
    "chart.used": ("已用杠杆", "Leverage used"),
    "chart.limit": ("上限", "Limit"),
    "chart.none": ("暂无数据。", "No data yet."),
    "chart.exposure_note": ("或有负债：假设所有在贷贷款今日违约时按规则应补偿的金额（上限估计）。",
                            "Contingent liability: what the rules would pay if every active loan defaulted today "
                            "(an upper bound)."),
    "chart.leverage_note": ("杠杆：在贷本金 ÷ 出资子基金可用余额。", "Leverage: outstanding principal / payers' available money."),
    # -- statements ---------------------------------------------------------------------
    "statements.title": ("对账单", "Statements"),
    "statements.generate": ("出具对账单", "Issue a statement"),
    "statements.register": ("对账单登记簿", "Register of issued statements"),
    "st.target": ("对象", "For"),
    "st.from": ("起始日", "From"),
    "st.to": ("截止日", "To"),
    "st.lang": ("语言", "Language"),
    "st.submit": ("生成并下载", "Issue and download"),
    "st.number": ("编号", "Number"),
    "st.kind": ("类型", "Kind"),
    "st.scope": ("对象", "Scope"),
    "st.period": ("期间", "Period"),
    "st.issued_by": ("出具人", "Issued by"),
    "st.issued_at": ("出具时间", "Issued at"),
    "st.download": ("下载", "Download"),
    "st.download_note": ("按登记的参数重新出具：账务未变时编号与文件字节完全相同。",
                         "Issued again from the registered parameters: while the ledger is unchanged, "
                         "the number and the bytes are the same."),
    "st.subfunds": ("子基金", "Sub-funds"),
    "st.banks": ("银行", "Banks"),
    "kind.claim": ("补偿结算单", "Compensation statement"),
    "kind.subfund": ("资金对账单", "Sub-fund statement"),
    "kind.bank": ("银行对账单", "Bank statement"),
    "lang.zh": ("中文", "Chinese"),
    "lang.en": ("英文", "English"),
    # -- audit --------------------------------------------------------------------------
    "audit.title": ("审计日志", "Audit log"),
    "audit.verify": ("全面校验", "Verify everything"),
    "audit.export": ("导出 CSV", "Export CSV"),
    "audit.ok": ("哈希链完整：已校验 {checked} 条记录，链头 {head}。",
                 "The chain is intact: {checked} entries checked, head {head}."),
    "audit.broken": ("哈希链断裂：第 {seq} 条记录不再匹配（{reason}）。",
                     "The chain is BROKEN at entry {seq}: {reason}."),
    "audit.check": ("检查项", "Check"),
    "audit.checked": ("已检查", "Checked"),
    "audit.result": ("结果", "Result"),
    "au.entity_type": ("对象类型", "Entity type"),
    "au.entity_id": ("对象编号", "Entity id"),
    "au.seq": ("序号", "Seq"),
    "au.at": ("时间", "When"),
    "au.actor": ("操作人", "Actor"),
    "au.action": ("动作", "Action"),
    "au.entity": ("对象", "Entity"),
    "au.change": ("变更", "Change"),
    "au.hash": ("哈希", "Hash"),
    "au.history": ("该对象的全部记录", "Everything about this entity"),
    "au.from": ("日期自", "From"),
    "au.to": ("日期至", "To"),
    # -- errors -------------------------------------------------------------------------
    "error.title": ("出错了", "Something went wrong"),
    "error.400": ("请求无效。", "The request is not valid."),
    "error.csrf": ("表单安全令牌缺失或已失效（CSRF），请求已拒绝。请刷新页面后重试。",
                   "The form's security token (CSRF) is missing or expired: the request was refused. "
                   "Reload the page and try again."),
    "error.403": ("您的角色无权访问此页面或执行此操作。", "Your roles do not allow this page or action."),
    "error.404": ("未找到所请求的内容。", "Not found."),
    "error.405": ("不支持此请求方法。", "This method is not allowed here."),
    "error.429": ("尝试次数过多，请稍后再试。", "Too many attempts; try again later."),
    "error.500": ("系统内部错误，已记录，请联系管理员。", "An internal error occurred; it has been logged."),
    "error.home": ("返回首页", "Back to the console"),
    "form.invalid": ("请检查填写内容：{fields}", "Please check: {fields}"),
    # -- API tokens ---------------------------------------------------------------------------
    "nav.tokens": ("接口令牌", "API tokens"),
    "tokens.title": ("接口令牌", "API tokens"),
    "tokens.intro": ("银行和用户当前有效的接口令牌。吊销立即生效：令牌的下一次请求即被拒绝。",
                     "The banks' and users' live API tokens. Revocation takes effect at once: the token's next "
                     "request is refused."),
    "tokens.user": ("用户", "User"),
    "tokens.name": ("名称", "Name"),
    "tokens.prefix": ("令牌开头", "Starts with"),
    "tokens.created": ("创建时间 (UTC)", "Created (UTC)"),
    "tokens.expires": ("到期时间 (UTC)", "Expires (UTC)"),
    "tokens.last_used": ("最近使用 (UTC)", "Last used (UTC)"),
    "tokens.revoke": ("吊销", "Revoke"),
    "tokens.confirm": ("确认吊销 {user} 的令牌 {prefix}…？", "Revoke {user}'s token {prefix}…?"),
    "tokens.revoked": ("已吊销 {user} 的令牌 {prefix}…。", "Revoked {user}'s token {prefix}…."),
}

STATUS = {
    "submitted": ("已提交", "submitted"),
    "returned": ("已退回", "returned"),
    "reviewed": ("已审查", "reviewed"),
    "approved": ("已批准", "approved"),
    "paid": ("已支付", "paid"),
    "rejected": ("已驳回", "rejected"),
    "withdrawn": ("已撤回", "withdrawn"),
    # loans
    "active": ("正常", "active"),
    "repaid": ("已结清", "repaid"),
    "defaulted": ("已违约", "defaulted"),
    "claimed": ("理赔中", "claimed"),
    "compensated": ("已补偿", "compensated"),
    "closed": ("已关闭", "closed"),
    "cancelled": ("已注销", "cancelled"),
}

ACTIONS = {
    "submit": ("提交", "submitted"),
    "resubmit": ("重新提交", "resubmitted"),
    "review": ("审查", "reviewed"),
    "return": ("退回", "returned"),
    "approve": ("批准", "approved"),
    "reject": ("驳回", "rejected"),
    "withdraw": ("撤回", "withdrawn"),
    "pay": ("支付", "paid"),
    "clawback": ("追缴", "clawed back"),
}

CATEGORIES = {
    "tech_sme": ("科技型中小企业", "tech SME"),
    "high_tech": ("高新技术企业", "high-tech enterprise"),
    "agri_tech": ("农业类科技企业", "agricultural tech firm"),
    "specialized_town": ("专业镇内企业", "firm in a specialised town"),
}

#: Form field names as people read them (marshmallow and domain errors name fields).
FIELDS = {
    "amount": ("金额", "amount"),
    "reason": ("理由", "reason"),
    "comment": ("意见", "comment"),
    "recommendation": ("建议", "recommendation"),
    "payment_reference": ("支付凭证号", "payment reference"),
    "paid_on": ("支付日期", "paid on"),
    "from": ("起始日", "from"),
    "to": ("截止日", "to"),
    "lang": ("语言", "language"),
    "target": ("对象", "for"),
    "status": ("状态", "status"),
    "region": ("地区", "region"),
    "min_age_days": ("受理至少天数", "age at least"),
    "max_age_days": ("受理至多天数", "age at most"),
    "page": ("页码", "page"),
    "password": ("密码", "password"),
    "_schema": ("表单", "form"),
}

#: marshmallow's and rules.money's English field messages, in Chinese.
FIELD_MESSAGES_ZH = {
    "Missing data for required field.": "必填",
    "Field may not be null.": "必填",
    "Not a valid date.": "日期格式应为 YYYY-MM-DD",
    "Not a valid integer.": "应为整数",
    "Shorter than minimum length 1.": "必填",
    "Amount must be greater than zero.": "金额须大于零",
    "Amount must not be negative.": "金额不能为负数",
    "Amounts have at most two decimals (fen).": "金额最多两位小数（到分）",
    "required": "必填",
    "required for a repair": "调减时必填",
}

#: Domain error codes (``ledger.errors``) as sentences; ``{…}`` from the error's extra.
ERRORS: dict[str, tuple[str, str | None]] = {
    "statement_not_issued": ("此对账单尚未按当前账务状态出具；审计人员只能下载已出具的对账单，请由财政局出具。",
                             "This statement has not been issued for the ledger's current state; auditors download "
                             "issued statements only: ask the bureau to issue it."),
    "insufficient_funds": ("子基金 {subfund} 可用余额不足，尚缺 {shortfall}；未预留任何资金。",
                           "Sub-fund {subfund} lacks {shortfall} of available money; nothing was reserved."),
    "four_eyes": ("您已审查过此理赔，须由另一位审批人作出决定（四眼原则）。",
                  "You reviewed this claim: another approver must decide it (four eyes)."),
    "invalid_transition": ("理赔当前状态为「{status}」，不能执行此操作。",
                           "The claim is {status}: this action is not possible in that state."),
    "loan_state_changed": ("贷款状态已变为「{status}」，请刷新后重试。",
                           "The loan is now {status}; reload and try again."),
    "bank_compensation_suspended": ("该银行在本方案中的不良贷款率为 {npl_ratio}，高于暂停补偿阈值 {threshold}，"
                                    "暂不能批准其理赔。", None),
    "documents_missing": ("申请材料不全，缺少：{missing}；不能建议批准。",
                          "Required documents are missing ({missing}): approval cannot be recommended."),
    "cap_exhausted": ("补偿上限已用尽，本理赔可批准金额为零；请改为驳回。",
                      "Nothing is left of the caps for this claim: reject it instead."),
    "amount_above_computed": ("批准金额不得高于扣除上限后的计算补偿额（{fields}）。", None),
    "repair_reason_required": ("批准金额低于计算补偿额属于调减，须填写理由。",
                               "Approving less than computed is a repair and needs a reason."),
    "clawback_too_large": ("追缴金额超出可追缴范围（{fields}）。", None),
    "reason_required": ("须填写理由。", "A reason is required."),
    "payer_subfund_missing": ("出资子基金 {subfund} 不存在。", None),
    "claim_not_found": ("未找到该理赔。", None),
    "subfund_not_found": ("未找到该子基金。", None),
    "bank_not_found": ("未找到该银行。", None),
    "claim_not_paid": ("该理赔尚未支付，不能出具补偿结算单。", None),
    "invalid_period": ("对账期间无效（{fields}）。", None),
    "period_in_future": ("对账期间不能晚于今天（{fields}）。", None),
    "ledger_inconsistent": ("账务数据不一致，已拒绝出具对账单，请联系管理员。", None),
    "validation_failed": ("请检查填写内容：{fields}", "Please check: {fields}"),
    "weak_password": ("密码不符合要求。", None),
}


def current_lang() -> str:
    if has_request_context():
        lang = session.get("lang")
        if lang in LANGS:
            return lang
    return DEFAULT_LANG


def _pick(pair: tuple[str, str | None], lang: str) -> str | None:
    return pair[0] if lang == "zh" else pair[1]


def t(key: str, **params: Any) -> str:
    """The string ``key`` in the session's language, formatted with ``params``."""
    pair = STRINGS.get(key)
    if pair is None:
        return key
    text = _pick(pair, current_lang()) or pair[0]
    return text.format(**params) if params else text


def label(table: Mapping[str, tuple[str, str]], value: str | None) -> str:
    """A status, action, category or field name in the session's language (unknown: as is)."""
    if value is None:
        return ""
    pair = table.get(value)
    return (pair[0] if current_lang() == "zh" else pair[1]) if pair else value


def field_errors(errors: Mapping[str, Any]) -> str:
    """``{"amount": ["at most 10.00"]}`` -> "金额：at most 10.00" (messages translated where known)."""
    zh = current_lang() == "zh"
    parts = []
    for name, messages in errors.items():
        if isinstance(messages, Mapping):
            messages = [f"{k}: {v}" for k, v in messages.items()]
        elif isinstance(messages, str):
            messages = [messages]
        shown = [FIELD_MESSAGES_ZH.get(str(m), str(m)) if zh else str(m) for m in messages]
        parts.append(f"{label(FIELDS, name)}{'：' if zh else ': '}{('；' if zh else '; ').join(shown)}")
    return ("；" if zh else "; ").join(parts)


def error_message(exc: DomainError) -> str:
    """A domain error as a sentence in the session's language."""
    from .formatting import money_text

    lang = current_lang()
    extra = dict(exc.extra)
    params: dict[str, Any] = {"code": exc.code, "fields": field_errors(exc.errors) if exc.errors else exc.message}
    account = str(extra.get("account", ""))
    params["subfund"] = extra.get("subfund") or (account.split(":")[1] if account.count(":") >= 2 else account)
    params["shortfall"] = money_text(extra["shortfall"]) if "shortfall" in extra else ""
    params["status"] = label(STATUS, extra.get("current_status")) if extra.get("current_status") else ""
    params["npl_ratio"] = extra.get("npl_ratio", "")
    params["threshold"] = extra.get("threshold", "")
    params["missing"] = "、".join(str(k) for k in extra.get("missing", []))
    pair = ERRORS.get(exc.code)
    template = _pick(pair, lang) if pair else None
    if template is None:
        if lang == "en":
            return exc.message
        # A code without a Chinese sentence yet: say what failed, keep the ledger's detail.
        detail = field_errors(exc.errors) if exc.errors else exc.message
        return f"操作未能完成（{exc.code}）：{detail}"
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return exc.message
