// Labels: Japanese by default, English by the switch in the header (kept in localStorage).
const dict = {
  ja: {
    appTitle: 'oshin 夜間往診', switchLang: 'English', logout: 'ログアウト', offline: 'オフライン — 再接続中',
    login: 'ログイン', username: 'ユーザー名', password: 'パスワード', totp: '確認コード（6桁）',
    totpSetup: '2段階認証の設定', totpSetupHelp: '認証アプリ（Google Authenticator など）にこの鍵を登録し、表示された6桁のコードを入力してください。この鍵は一度しか表示されません。',
    totpSecret: '鍵', totpLink: '認証アプリで開く', totpConfirm: '設定を完了する', totpStart: '鍵を発行する',
    signIn: 'ログイン', loading: '読み込み中…', unavailable: 'この機能はまだ利用できません（サーバーが未対応です）。',
    saved: '保存しました', none: 'ありません', refresh: '更新', error: 'エラー',
    // requester
    tabRequests: '依頼状況', tabNewRequest: '往診依頼', tabPatients: '担当患者', tabInbox: '受信箱',
    myRequests: '依頼した往診', newRequest: '往診を依頼する', patient: '患者', selectPatient: '患者を選択',
    urgency: '緊急度', reason: '理由', chiefComplaint: '主訴', vitals: 'バイタル', notes: '備考',
    temperatureC: '体温 (℃)', systolicBp: '収縮期血圧', diastolicBp: '拡張期血圧', pulse: '脈拍',
    spo2: 'SpO2 (%)', respiratoryRate: '呼吸数', lifeThreatening: '生命に危険がある（意識なし・呼吸停止など）',
    call119: '今すぐ119番に電話してください。往診ではなく救急要請が必要です。', dial119: '119に発信',
    submitRequest: '依頼を送信', requestSent: '依頼を送信しました', eta: '到着予定', team: 'チーム',
    requestedAt: '依頼時刻', cancel: '依頼を取り消す', cancelReason: '取り消す理由',
    URGENT: '至急（60分以内）', SOON: '準至急（3時間以内）',
    ACUTE_CHANGE: '急変', END_OF_LIFE: '看取り期', DEATH_CONFIRMATION: '死亡確認', OTHER: 'その他',
    REQUESTED: '受付', OFFERED: '打診中', ASSIGNED: '担当決定', EN_ROUTE: '移動中', ON_SITE: '診察中',
    COMPLETED: '完了', CANCELLED: '取消', REJECTED: '受付不可',
    registerPatient: '患者を登録', name: '氏名', birthDate: '生年月日', sex: '性別', FEMALE: '女性', MALE: '男性',
    address: '住所', lat: '緯度', lon: '経度', primaryDoctorId: 'かかりつけ医のID',
    careTeamOrganizationIds: 'ケアチームの事業所ID（カンマ区切り）', sharingConsent: '情報共有の同意あり',
    allergies: 'アレルギー', advanceCarePlan: '人生会議（ACP）', register: '登録', patients: '患者一覧',
    // inbox
    inbox: '受信箱（往診報告）', acknowledge: '確認済みにする', acknowledged: '確認済み', unacknowledged: '未確認',
    findings: '所見', diagnoses: '診断', treatment: '処置', prescriptions: '処方', disposition: '転帰',
    instructionsForCareTeam: 'ケアチームへの指示', followUpForPrimaryDoctor: 'かかりつけ医への申し送り',
    destination: '搬送先', billing: '算定', points: '点',
    STAYED_HOME: '在宅継続', TRANSFERRED_TO_HOSPITAL: '病院へ搬送', DECEASED: '死亡',
    // team
    currentOffer: '往診の打診', noOffer: '現在、打診はありません。', remaining: '残り', accept: '受ける',
    decline: '断る', declineReason: '断る理由', currentVisit: '担当中の往診', noVisit: '担当中の往診はありません。',
    navigate: '地図アプリでナビ', depart: '出発', arrive: '到着', complete: '完了',
    summaryForm: '往診報告を書く', diagnosesHelp: '1行に1つ', prescriptionsHelp: '1行に1つ：薬剤, 用量, 日数',
    submitSummary: '報告を送信', summarySent: '報告を送信しました', offerGone: '打診は取り消されました',
    myTeam: '自分のチーム', teamStatus: '状態', AVAILABLE: '待機中', BUSY: '対応中', OFF_SHIFT: '勤務外',
    // staff
    tabBoard: 'ボード', tabTeams: 'チーム・シフト', tabLog: '往診記録', tabCharts: '需要分析',
    tabBilling: '請求', tabPayroll: '給与', tabOverdue: '確認遅延',
    openVisits: '対応中の往診', teams: 'チーム', map: '位置（センター中心、円は往診圏）',
    center: 'センター', radius: '往診圏', doctorId: '医師のID', driverId: '運転手のID', vehicle: '車両',
    shiftStart: 'シフト開始', shiftEnd: 'シフト終了', baseLat: '待機場所の緯度', baseLon: '待機場所の経度',
    skills: '対応分野', PEDIATRIC: '小児', PALLIATIVE: '緩和', RESPIRATORY: '呼吸器', createTeam: 'チームを登録',
    status: '状態', from: '開始', to: '終了', patientId: '患者ID', filter: '絞り込み', all: 'すべて',
    visits: '往診', heatMap: '依頼件数（曜日×時刻）', histogram: '応答時間の分布（依頼→到着、分）',
    responseStats: '応答時間', count: '件数', withinTarget: '目標内', downloadCsv: 'CSVをダウンロード',
    totalPoints: '合計点数', timeBand: '時間帯', startedAt: '到着', role: '役割', workedMinutes: '勤務分',
    pay: '支給額（円）', overMonthlyCap: '月上限超過', overdue: '確認期限を過ぎた報告', recipient: '受信者', recipientOrganization: '受信事業所', ackDueAt: '確認期限',
    weekdays: '月,火,水,木,金,土,日', total: '合計', refusals: '受付不可', demandTotal: '依頼総数',
    role_ADMIN: '管理者', role_STAFF: 'センター職員', role_NURSE: '訪問看護師', role_CARE_MANAGER: 'ケアマネジャー',
    role_DOCTOR: '往診医', role_DRIVER: '運転手', role_PRIMARY_DOCTOR: 'かかりつけ医',
  },
  en: {
    appTitle: 'oshin night house calls', switchLang: '日本語', logout: 'Log out', offline: 'Offline — reconnecting',
    login: 'Log in', username: 'Username', password: 'Password', totp: 'Code (6 digits)',
    totpSetup: 'Set up two-step sign-in', totpSetupHelp: 'Add this key to an authenticator app (Google Authenticator or similar) and enter the 6-digit code it shows. The key is shown only once.',
    totpSecret: 'Key', totpLink: 'Open in the authenticator app', totpConfirm: 'Finish set-up', totpStart: 'Create a key',
    signIn: 'Log in', loading: 'Loading…', unavailable: 'Not available yet (the server does not offer it).',
    saved: 'Saved', none: 'None', refresh: 'Refresh', error: 'Error',
    tabRequests: 'My requests', tabNewRequest: 'Request a visit', tabPatients: 'My patients', tabInbox: 'Inbox',
    myRequests: 'My requests', newRequest: 'Request a house call', patient: 'Patient', selectPatient: 'Choose a patient',
    urgency: 'Urgency', reason: 'Reason', chiefComplaint: 'Chief complaint', vitals: 'Vitals', notes: 'Notes',
    temperatureC: 'Temperature (°C)', systolicBp: 'Systolic BP', diastolicBp: 'Diastolic BP', pulse: 'Pulse',
    spo2: 'SpO2 (%)', respiratoryRate: 'Respiratory rate', lifeThreatening: 'Life-threatening (unconscious, not breathing…)',
    call119: 'Call 119 now. This needs an ambulance, not a house call.', dial119: 'Dial 119',
    submitRequest: 'Send request', requestSent: 'Request sent', eta: 'ETA', team: 'Team',
    requestedAt: 'Requested', cancel: 'Cancel the request', cancelReason: 'Reason for cancelling',
    URGENT: 'Urgent (within 60 min)', SOON: 'Soon (within 3 h)',
    ACUTE_CHANGE: 'Acute change', END_OF_LIFE: 'End of life', DEATH_CONFIRMATION: 'Death confirmation', OTHER: 'Other',
    REQUESTED: 'Requested', OFFERED: 'Offered', ASSIGNED: 'Assigned', EN_ROUTE: 'En route', ON_SITE: 'On site',
    COMPLETED: 'Completed', CANCELLED: 'Cancelled', REJECTED: 'Refused',
    registerPatient: 'Register a patient', name: 'Name', birthDate: 'Birth date', sex: 'Sex', FEMALE: 'Female', MALE: 'Male',
    address: 'Address', lat: 'Latitude', lon: 'Longitude', primaryDoctorId: 'Primary doctor ID',
    careTeamOrganizationIds: 'Care team organization IDs (comma separated)', sharingConsent: 'Consents to sharing',
    allergies: 'Allergies', advanceCarePlan: 'Advance care plan', register: 'Register', patients: 'Patients',
    inbox: 'Inbox (visit summaries)', acknowledge: 'Acknowledge', acknowledged: 'Acknowledged', unacknowledged: 'Not acknowledged',
    findings: 'Findings', diagnoses: 'Diagnoses', treatment: 'Treatment', prescriptions: 'Prescriptions', disposition: 'Disposition',
    instructionsForCareTeam: 'Instructions for the care team', followUpForPrimaryDoctor: 'Follow-up for the primary doctor',
    destination: 'Destination', billing: 'Billing', points: 'pts',
    STAYED_HOME: 'Stayed home', TRANSFERRED_TO_HOSPITAL: 'Transferred to hospital', DECEASED: 'Deceased',
    currentOffer: 'Current offer', noOffer: 'No offer right now.', remaining: 'Left', accept: 'Accept',
    decline: 'Decline', declineReason: 'Reason for declining', currentVisit: 'Current visit', noVisit: 'No current visit.',
    navigate: 'Navigate (maps app)', depart: 'Depart', arrive: 'Arrive', complete: 'Complete',
    summaryForm: 'Write the summary', diagnosesHelp: 'one per line', prescriptionsHelp: 'one per line: drug, dose, days',
    submitSummary: 'Send summary', summarySent: 'Summary sent', offerGone: 'The offer was withdrawn',
    myTeam: 'My team', teamStatus: 'Status', AVAILABLE: 'Available', BUSY: 'Busy', OFF_SHIFT: 'Off shift',
    tabBoard: 'Board', tabTeams: 'Teams & shifts', tabLog: 'Visit log', tabCharts: 'Demand',
    tabBilling: 'Billing', tabPayroll: 'Payroll', tabOverdue: 'Overdue',
    openVisits: 'Open visits', teams: 'Teams', map: 'Positions (center in the middle, circle = service radius)',
    center: 'Center', radius: 'Service radius', doctorId: 'Doctor ID', driverId: 'Driver ID', vehicle: 'Vehicle',
    shiftStart: 'Shift start', shiftEnd: 'Shift end', baseLat: 'Base latitude', baseLon: 'Base longitude',
    skills: 'Skills', PEDIATRIC: 'Pediatric', PALLIATIVE: 'Palliative', RESPIRATORY: 'Respiratory', createTeam: 'Create team',
    status: 'Status', from: 'From', to: 'To', patientId: 'Patient ID', filter: 'Filter', all: 'All',
    visits: 'Visits', heatMap: 'Requests by weekday × hour', histogram: 'Response time (request → arrival, minutes)',
    responseStats: 'Response time', count: 'Count', withinTarget: 'Within target', downloadCsv: 'Download CSV',
    totalPoints: 'Total points', timeBand: 'Time band', startedAt: 'Arrived', role: 'Role', workedMinutes: 'Worked min',
    pay: 'Pay (yen)', overMonthlyCap: 'Over monthly cap', overdue: 'Summaries past their acknowledgement deadline', recipient: 'Recipient', recipientOrganization: 'Recipient organization', ackDueAt: 'Due',
    weekdays: 'Mon,Tue,Wed,Thu,Fri,Sat,Sun', total: 'Total', refusals: 'Refusals', demandTotal: 'Requests',
    role_ADMIN: 'Administrator', role_STAFF: 'Center staff', role_NURSE: 'Visiting nurse', role_CARE_MANAGER: 'Care manager',
    role_DOCTOR: 'On-call doctor', role_DRIVER: 'Driver', role_PRIMARY_DOCTOR: 'Primary doctor',
  },
};

let current = localStorage.getItem('oshin.lang') === 'en' ? 'en' : 'ja';

export function lang() { return current; }

export function setLang(l) {
  current = l === 'en' ? 'en' : 'ja';
  localStorage.setItem('oshin.lang', current);
  document.documentElement.lang = current;
}

/** The label for key in the current language (the key itself when missing). */
export function t(key) {
  return dict[current][key] ?? dict.ja[key] ?? key;
}

document.documentElement.lang = current;
