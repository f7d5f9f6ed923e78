param w[1000000000]
data x, Y
model y = sum(w)*x
loss mean((y - Y)^2)
