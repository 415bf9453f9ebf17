// Every word the widget shows, in one place.

export const DEFAULT_TITLE = "マイナンバーカード電子証明書のご案内";

export const MSG = {
  launcher: "チャットで質問する",
  launcherLabel: "チャットを開く: ", // + the title
  close: "チャットを閉じる",
  newChat: "新しい会話",
  newChatLabel: "新しい会話を始める(これまでの会話は消えます)",
  input: "質問を入力(Enterで送信、Shift+Enterで改行)",
  placeholder: "例: 有効期限はいつまで?",
  send: "送信",
  log: "メッセージ",
  history: "会話の履歴",
  typing: "回答を準備しています",
  you: "あなた",
  bot: "案内",
  retry: "再送信",
  retryLabel: "このメッセージを再送信する",
  retryWelcome: "再接続",
  newWindow: "(新しいウィンドウで開きます)",
  reconnecting: "接続が切れました。再接続しています…",
  privacy: "マイナンバー(個人番号)や暗証番号は入力しないでください。",
  quickReplies: "質問の候補",
  sources: "出典(公式ページ)",
  errNetwork: "通信できませんでした。接続を確認して、もう一度お試しください。",
  errRateLimit: "短い時間に多くのメッセージが送られました。少し待ってから再送信してください。",
  errBadInput: "このメッセージは送信できませんでした。内容を短くするなどして、もう一度お試しください。",
  errServer: "ただいま回答できません。時間をおいて、もう一度お試しください。",
  errTimeout: "回答に時間がかかっています。もう一度お試しください。",
  errWelcome: "チャットに接続できませんでした。通信環境を確認してください。",
};
