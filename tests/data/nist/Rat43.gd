# NIST StRD Rat43 (higher difficulty): y = b1 / ((1+exp[b2-b3*x])**(1/b4)) + e
# certified values, data and both starts: Rat43.json / Rat43.csv
param b1 = 100, b2 = 10, b3 = 1, b4 = 1    # NIST start 1
# NIST start 2: b1 = 700, b2 = 5, b3 = 0.75, b4 = 1.3
data x, y
model f = b1/(1 + exp(b2 - b3*x))^(1/b4)
loss sum((f - y)^2)
